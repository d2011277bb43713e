//! Churn, GRR and NRR over a period, overall or per cohort: the one place that reads the
//! subscription history and the accounts' cohorts for `GET /api/v1/analytics/churn`,
//! `mikawaya churn` and the dashboards.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::churn::{ChurnReport, RevenueRow, churn, churn_by_cohort};
use mikawaya_domain::{AccountId, PartnerId, UserId};
use mikawaya_domain::{Invalid, ReadAccess};
use mikawaya_store::Store;
use std::collections::{BTreeMap, HashMap};

/// Churn over a period, and per cohort when asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnAnalysis {
    /// t0.
    pub from: Date,
    /// t1.
    pub to: Date,
    /// Every account active at t0.
    pub overall: ChurnReport,
    /// Per cohort (cohorts with no account at t0 left out), when a cohort was asked for.
    pub cohorts: Option<BTreeMap<String, ChurnReport>>,
}

/// Churn of the accounts `access` can see that were active on `from`, to `to`, overall and
/// (with `by`, one of [`COHORTS`]) per cohort. `to` must be after `from` (field `to`).
pub fn analyse(
    store: &dyn Store,
    access: &ReadAccess,
    from: Date,
    to: Date,
    by: Option<&str>,
) -> Result<ChurnAnalysis> {
    if to <= from {
        return Err(Invalid::new("to", "must be after from").into());
    }
    let subscriptions = store.all_subscriptions(access)?;
    let rows: Vec<RevenueRow> = subscriptions.iter().map(RevenueRow::from).collect();
    let cohorts = match by {
        Some(by) => {
            let groups = cohorts(store, access, by, &subscriptions)?;
            Some(churn_by_cohort(&rows, from, to, &|account| {
                groups.get(&account).cloned()
            }))
        }
        None => None,
    };
    Ok(ChurnAnalysis {
        from,
        to,
        overall: churn(&rows, from, to),
        cohorts,
    })
}

/// The cohorts churn can be broken down by.
pub const COHORTS: &[&str] = &["start_month", "plan", "tier", "partner", "owner"];

/// Each visible account's cohort `by` (see [`COHORTS`]): the month of its first
/// subscription, its plan, touch tier, partner name (`(direct)`) or owner email (`(none)`).
pub fn cohorts(
    store: &dyn Store,
    access: &ReadAccess,
    by: &str,
    subscriptions: &[mikawaya_domain::subscription::Subscription],
) -> Result<HashMap<AccountId, String>> {
    let accounts = store.all_accounts(access)?;
    let label = |value: Option<String>, none: &str| value.unwrap_or_else(|| none.to_owned());
    let groups: HashMap<AccountId, String> = match by {
        "start_month" => {
            let mut first: HashMap<AccountId, Date> = HashMap::new();
            for subscription in subscriptions {
                let start = subscription.term.start();
                first
                    .entry(subscription.account_id)
                    .and_modify(|d| *d = (*d).min(start))
                    .or_insert(start);
            }
            accounts
                .iter()
                .filter_map(|a| {
                    first
                        .get(&a.id)
                        .map(|d| (a.id, format!("{:04}-{:02}", d.year(), d.month())))
                })
                .collect()
        }
        "plan" => accounts
            .iter()
            .map(|a| {
                (
                    a.id,
                    label(a.plan.as_ref().map(ToString::to_string), "(none)"),
                )
            })
            .collect(),
        "tier" => accounts
            .iter()
            .map(|a| (a.id, label(a.tier.map(|t| t.as_str().to_owned()), "(none)")))
            .collect(),
        "partner" => {
            let names: HashMap<PartnerId, String> = store
                .list_partners(access)?
                .into_iter()
                .map(|p| (p.id, p.name.to_string()))
                .collect();
            accounts
                .iter()
                .map(|a| {
                    (
                        a.id,
                        label(
                            a.partner_id.and_then(|id| names.get(&id).cloned()),
                            "(direct)",
                        ),
                    )
                })
                .collect()
        }
        "owner" => {
            let emails: HashMap<UserId, String> = store
                .list_users(access)?
                .into_iter()
                .map(|u| (u.id, u.email.to_string()))
                .collect();
            accounts
                .iter()
                .map(|a| {
                    (
                        a.id,
                        label(a.owner_id.and_then(|id| emails.get(&id).cloned()), "(none)"),
                    )
                })
                .collect()
        }
        other => {
            return Err(mikawaya_domain::Invalid::new(
                "by",
                format!("'{other}' is not one of: {}", COHORTS.join(", ")),
            )
            .into());
        }
    };
    Ok(groups)
}
