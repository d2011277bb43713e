//! Materialized reports: the dashboards' numbers per visibility scope (everyone, or one
//! partner), computed once a day by the worker (or on the first view of a day) and kept
//! in the store's meta table, so the page reads them instead of scanning every account.

use mikawaya_analytics::churn::RevenueRow;
use mikawaya_analytics::dashboard::{Dashboard, compute};
use mikawaya_domain::{AccountId, ReadAccess};
use mikawaya_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many renewals a report keeps for the page's table (totals count them all).
pub const RENEWALS_KEPT: usize = 200;

/// An account renewing soon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Renewal {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its renewal day.
    pub renewal_date: jiff::civil::Date,
    /// Its ARR.
    pub arr: f64,
    /// Its currency.
    pub currency: String,
    /// Its latest health score.
    pub score: Option<f64>,
}

/// What the dashboards page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardReport {
    /// The numbers.
    pub numbers: Dashboard,
    /// Paying accounts renewing in the next 90 days, soonest first (the first
    /// [`RENEWALS_KEPT`]).
    pub renewals: Vec<Renewal>,
    /// How many renew in the next 90 days.
    pub renewing_accounts: usize,
    /// Their ARR.
    pub renewing_arr: f64,
    /// The ARR of those with health below 70 (or no score).
    pub arr_at_risk: f64,
    /// The currency most accounts use (for totals).
    pub currency: String,
    /// Each owner's book of business.
    #[serde(default)]
    pub book: Vec<mikawaya_playbooks::tiers::BookRow>,
}

/// Computes the dashboard report for what `access` can see, as of `day`.
pub fn build(
    store: &dyn Store,
    access: &ReadAccess,
    day: jiff::civil::Date,
) -> Result<DashboardReport, StoreError> {
    let scorecard = mikawaya_playbooks::health::SCORECARD;
    let accounts = store.all_accounts(access)?;
    let rows: Vec<RevenueRow> = store.revenue_rows(access)?;
    // Churn by tier counts each account in the tier it had when the year began.
    let year_ago = day.checked_sub(jiff::Span::new().years(1)).unwrap_or(day);
    let tiers: HashMap<AccountId, String> =
        crate::churn::cohorts(store, access, "tier", &rows, year_ago)?;
    let days = store.health_days(scorecard)?;
    let latest = days.iter().rev().find(|d| **d <= day).copied();
    let ninety = day.checked_sub(jiff::Span::new().days(90)).unwrap_or(day);
    let past = days.iter().rev().find(|d| **d <= ninety).copied();
    let snapshot =
        |d: Option<jiff::civil::Date>| -> Result<Vec<(AccountId, Option<f64>)>, StoreError> {
            Ok(match d {
                Some(d) => store
                    .health_rows(access, scorecard, None, d, d)?
                    .into_iter()
                    .map(|r| (r.account_id, r.score))
                    .collect(),
                None => Vec::new(),
            })
        };
    let (now_scores, past_scores) = (snapshot(latest)?, snapshot(past)?);
    let numbers = compute(
        day,
        &rows,
        &tiers,
        (latest, &now_scores),
        (past, &past_scores),
    );
    let paying = mikawaya_analytics::churn::mrr_by_account(&rows, day);
    let score_of: HashMap<AccountId, Option<f64>> = now_scores.into_iter().collect();
    let horizon = day.checked_add(jiff::Span::new().days(90)).unwrap_or(day);
    let mut renewals: Vec<Renewal> = accounts
        .iter()
        .filter(|a| paying.get(&a.id).is_some_and(|mrr| *mrr > 0.0))
        .filter_map(|a| {
            let renewal = a.renewal_date.filter(|r| *r >= day && *r <= horizon)?;
            Some(Renewal {
                account_id: a.id,
                name: a.name.to_string(),
                renewal_date: renewal,
                arr: a.arr(),
                currency: a.currency.to_string(),
                score: score_of.get(&a.id).copied().flatten(),
            })
        })
        .collect();
    renewals.sort_by(|a, b| {
        a.renewal_date
            .cmp(&b.renewal_date)
            .then(a.account_id.cmp(&b.account_id))
    });
    let currency = main_currency(&accounts);
    let book = crate::team::book(store, access, day).map_err(StoreError::from)?;
    let renewing_accounts = renewals.len();
    let renewing_arr = renewals.iter().map(|r| r.arr).sum();
    let arr_at_risk = renewals
        .iter()
        .filter(|r| r.score.is_none_or(|s| s < 70.0))
        .map(|r| r.arr)
        .sum();
    renewals.truncate(RENEWALS_KEPT);
    Ok(DashboardReport {
        numbers,
        renewals,
        renewing_accounts,
        renewing_arr,
        arr_at_risk,
        currency,
        book,
    })
}

/// The stored report of `day` for what `access` can see, built and stored when missing.
pub fn dashboard(
    store: &dyn Store,
    access: &ReadAccess,
    day: jiff::civil::Date,
) -> Result<DashboardReport, StoreError> {
    // A report kept by an older version may not read: it is a cache, so it is rebuilt.
    if let Some((kept_day, body)) = store.dashboard_report(access)?
        && kept_day == day
        && let Ok(report) = serde_json::from_str::<DashboardReport>(&body)
    {
        return Ok(report);
    }
    refresh(store, access, day)
}

/// Rebuilds and stores the report of `day` for what `access` can see.
pub fn refresh(
    store: &dyn Store,
    access: &ReadAccess,
    day: jiff::civil::Date,
) -> Result<DashboardReport, StoreError> {
    let report = build(store, access, day)?;
    let json = serde_json::to_string(&report)
        .map_err(|e| StoreError::Corrupt(format!("dashboard report: {e}")))?;
    store.put_dashboard_report(access, day, &json)?;
    Ok(report)
}

/// The currency most accounts use (totals are shown in it; USD for an empty book).
pub fn main_currency(accounts: &[mikawaya_domain::account::Account]) -> String {
    let mut currencies: HashMap<String, usize> = HashMap::new();
    for account in accounts {
        *currencies.entry(account.currency.to_string()).or_default() += 1;
    }
    currencies
        .into_iter()
        .max_by(|(a, n), (b, m)| n.cmp(m).then(b.cmp(a)))
        .map_or_else(|| "USD".to_owned(), |(c, _)| c)
}
