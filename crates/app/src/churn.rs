//! Churn, GRR and NRR over a period, overall or per cohort: the one place that reads the
//! subscription history and the accounts' cohorts for `GET /api/v1/analytics/churn`,
//! `mikawaya churn` and the dashboards.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::churn::{ChurnReport, RevenueRow, churn, churn_by_cohort};
use mikawaya_domain::AccountId;
use mikawaya_domain::{Invalid, ReadAccess};
use mikawaya_store::{AccountField, Store};
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
    analyse_in(Book::Store, store, access, from, to, by)
}

/// Where the whole-book reads of churn come from: the store, or a book kept by the server
/// ([`crate::kept::Books`], the same rows brought up to date by the changed accounts).
#[derive(Clone, Copy)]
enum Book<'a> {
    Store,
    Kept(&'a crate::kept::Book),
}

impl Book<'_> {
    /// Every visible subscription's revenue row, by account, start and id.
    fn revenue_rows(self, store: &dyn Store, access: &ReadAccess) -> Result<Vec<RevenueRow>> {
        Ok(match self {
            Book::Store => store.revenue_rows(access)?,
            Book::Kept(book) => book
                .accounts
                .values()
                .flat_map(|facts| facts.revenue.iter().copied())
                .collect(),
        })
    }

    /// One field of every visible account, in id order, as [`Store::account_values`] gives
    /// it (custom fields are read from the store).
    fn values(
        self,
        store: &dyn Store,
        access: &ReadAccess,
        field: &AccountField,
    ) -> Result<Vec<(AccountId, Option<String>)>> {
        let Book::Kept(book) = self else {
            return Ok(store.account_values(access, field)?);
        };
        let value: fn(&mikawaya_store::BookFacts) -> Option<String> = match field {
            AccountField::ExternalId => |f| f.external_id.as_ref().map(|v| v.as_str().to_owned()),
            AccountField::Plan => |f| f.plan.as_ref().map(|v| v.as_str().to_owned()),
            AccountField::Tier => |f| f.tier.map(|v| v.as_str().to_owned()),
            AccountField::Owner => |f| f.owner_id.map(|v| v.get().to_string()),
            AccountField::Partner => |f| f.partner_id.map(|v| v.get().to_string()),
            AccountField::Custom(_) => return Ok(store.account_values(access, field)?),
        };
        Ok(book
            .accounts
            .iter()
            .map(|(id, facts)| (*id, value(facts)))
            .collect())
    }
}

fn analyse_in(
    book: Book<'_>,
    store: &dyn Store,
    access: &ReadAccess,
    from: Date,
    to: Date,
    by: Option<&str>,
) -> Result<ChurnAnalysis> {
    if to <= from {
        return Err(Invalid::new("to", "must be after from").into());
    }
    let rows: Vec<RevenueRow> = book.revenue_rows(store, access)?;
    let cohorts = match by {
        Some(by) => {
            let groups = cohorts_in(book, store, access, by, &rows, from)?;
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

/// Activity churn (`shared/domain.md`) of the accounts `access` can see over `[from, to)`:
/// with usage but no billing data, an account is churned after `inactive_days` days
/// without an event (field `activity_days`, 1 to 3650; `to` after `from`).
pub fn activity(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn mikawaya_analytics::metrics::UsageSource,
    from: Date,
    to: Date,
    inactive_days: u32,
) -> Result<mikawaya_analytics::churn::ActivityChurn> {
    activity_in(Book::Store, store, access, usage, from, to, inactive_days)
}

fn activity_in(
    book: Book<'_>,
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn mikawaya_analytics::metrics::UsageSource,
    from: Date,
    to: Date,
    inactive_days: u32,
) -> Result<mikawaya_analytics::churn::ActivityChurn> {
    if to <= from {
        return Err(Invalid::new("to", "must be after from").into());
    }
    if !(1..=3650).contains(&inactive_days) {
        return Err(Invalid::new("activity_days", "must be from 1 to 3650").into());
    }
    let accounts = book.values(store, access, &AccountField::ExternalId)?;
    let keys: Vec<&str> = accounts
        .iter()
        .filter_map(|(_, key)| key.as_deref())
        .collect();
    Ok(mikawaya_analytics::churn::activity_churn(
        usage,
        &keys,
        from,
        to,
        inactive_days,
    ))
}

/// The cohorts page's table: churn per cohort and activity churn over one period.
pub type CohortTable = (
    std::sync::Arc<ChurnAnalysis>,
    std::sync::Arc<mikawaya_analytics::churn::ActivityChurn>,
);

/// What the churn per cohort of a [`CohortTable`] was computed from (see [`crate::kept`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CohortKey {
    visibility: mikawaya_domain::Visibility,
    from: Date,
    to: Date,
    by: String,
    stamp: i64,
    zone: Option<String>,
}

/// What the activity churn of a [`CohortTable`] was computed from: the usage keys (their
/// stamp in the kept book) and the usage up to `to`, not the rest of the book.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityKey {
    visibility: mikawaya_domain::Visibility,
    from: Date,
    to: Date,
    inactive_days: u32,
    keys_stamp: i64,
    usage: u64,
}

/// [`analyse`] by `by` and [`activity`] over the same period, from the book kept in `kept`
/// ([`crate::kept::Books`]); the churn is kept while the book and the business time zone
/// stand, the activity churn while the usage keys and the usage up to `to` stand (a usage
/// source that cannot tell is never kept, and then the store is read).
#[allow(clippy::too_many_arguments)]
pub fn cohort_table(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn mikawaya_analytics::metrics::UsageSource,
    from: Date,
    to: Date,
    by: &str,
    inactive_days: u32,
    kept: &crate::kept::Sums,
) -> Result<CohortTable> {
    let Some(changes) = usage.changes_through(to) else {
        return Ok((
            std::sync::Arc::new(analyse(store, access, from, to, Some(by))?),
            std::sync::Arc::new(activity(store, access, usage, from, to, inactive_days)?),
        ));
    };
    let book = kept.books.current(store, access)?;
    let key = CohortKey {
        visibility: access.visibility(),
        from,
        to,
        by: by.to_owned(),
        stamp: book.stamp,
        zone: store.business_time_zone()?.iana_name().map(str::to_owned),
    };
    let analysis = kept.cohorts.get_or(key, || {
        analyse_in(Book::Kept(&book), store, access, from, to, Some(by))
    })?;
    let key = ActivityKey {
        visibility: access.visibility(),
        from,
        to,
        inactive_days,
        keys_stamp: book.keys_stamp,
        usage: changes,
    };
    let activity = kept.activity.get_or(key, || {
        activity_in(
            Book::Kept(&book),
            store,
            access,
            usage,
            from,
            to,
            inactive_days,
        )
    })?;
    Ok((analysis, activity))
}

/// The cohorts churn can be broken down by (and `custom.KEY`, a custom field).
pub const COHORTS: &[&str] = &["start_month", "plan", "tier", "partner", "owner"];

/// Each visible account's cohort `by` (one of [`COHORTS`], or `custom.KEY`) as it was at the
/// start of `at` (in the business time zone): the month of its first subscription, or its
/// plan, touch tier, partner name (`(direct)`), owner's name (`(none)`) or custom field
/// value (`(none)`) on that day, read back through the recorded changes since. An account
/// that moved tier and then churned counts in the tier it had when the period began.
pub fn cohorts(
    store: &dyn Store,
    access: &ReadAccess,
    by: &str,
    subscriptions: &[RevenueRow],
    at: Date,
) -> Result<HashMap<AccountId, String>> {
    cohorts_in(Book::Store, store, access, by, subscriptions, at)
}

fn cohorts_in(
    book: Book<'_>,
    store: &dyn Store,
    access: &ReadAccess,
    by: &str,
    subscriptions: &[RevenueRow],
    at: Date,
) -> Result<HashMap<AccountId, String>> {
    if by == "start_month" {
        // The rows are the visible accounts' subscriptions.
        let mut first: HashMap<AccountId, Date> = HashMap::new();
        for subscription in subscriptions {
            let start = subscription.term.start();
            first
                .entry(subscription.account)
                .and_modify(|d| *d = (*d).min(start))
                .or_insert(start);
        }
        return Ok(first
            .into_iter()
            .map(|(id, d)| (id, format!("{:04}-{:02}", d.year(), d.month())))
            .collect());
    }
    let (field, column) = match by {
        "plan" => (by.to_owned(), AccountField::Plan),
        "tier" => (by.to_owned(), AccountField::Tier),
        "owner" => (by.to_owned(), AccountField::Owner),
        "partner" => (by.to_owned(), AccountField::Partner),
        custom if custom.starts_with("custom.") && custom.len() > "custom.".len() => (
            custom.to_owned(),
            AccountField::Custom(custom["custom.".len()..].to_owned()),
        ),
        other => {
            return Err(mikawaya_domain::Invalid::new(
                "by",
                format!(
                    "'{other}' is not one of: {}, custom.KEY",
                    COHORTS.join(", ")
                ),
            )
            .into());
        }
    };
    let accounts = book.values(store, access, &column)?;
    // The value on `at` is the value before the first change made since, else the current.
    let since = at
        .to_zoned(store.business_time_zone()?)
        .map_err(|e| Invalid::new("from", e.to_string()))?
        .timestamp();
    let mut before: HashMap<AccountId, Option<String>> = HashMap::new();
    for change in store.account_changes(access, since)? {
        if change.field == field {
            before.entry(change.account_id).or_insert(change.old_value);
        }
    }
    let names: HashMap<String, String> = match field.as_str() {
        // Owners by name, whoever reads: a partner's accounts are owned by the vendor's CSMs.
        "owner" => store
            .list_users(&mikawaya_domain::Actor::system().read())?
            .into_iter()
            .map(|u| (u.id.to_string(), u.name.to_string()))
            .collect(),
        "partner" => store
            .list_partners(access)?
            .into_iter()
            .map(|p| (p.id.to_string(), p.name.to_string()))
            .collect(),
        _ => HashMap::new(),
    };
    let none = if field == "partner" {
        "(direct)"
    } else {
        "(none)"
    };
    Ok(accounts
        .into_iter()
        .map(|(id, current)| {
            let value = match before.get(&id) {
                Some(old) => old.clone(),
                None => current,
            };
            let label = value
                .map(|v| names.get(&v).cloned().unwrap_or(v))
                .unwrap_or_else(|| none.to_owned());
            (id, label)
        })
        .collect())
}
