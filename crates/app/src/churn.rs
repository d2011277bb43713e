//! Churn, GRR and NRR over a period, overall or per cohort: the one place that reads the
//! subscription history and the accounts' cohorts for `GET /api/v1/analytics/churn`,
//! `mikawaya churn` and the dashboards.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::churn::{ChurnReport, RevenueRow, churn, churn_by_cohort};
use mikawaya_domain::{Invalid, ReadAccess};
use mikawaya_store::Store;
use std::collections::BTreeMap;

pub use mikawaya_playbooks::facts::COHORTS;

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
            let groups = mikawaya_playbooks::facts::cohorts(store, access, by, &subscriptions)?;
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
