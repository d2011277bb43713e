//! An account's health: its score, colour, the scorecard that made it and its drivers, on
//! a day and over time. One answer everywhere: the Customer 360 page, the API, the CLI,
//! Today and the rules all read it through [`scores_on`] or [`account_health`].
//!
//! The rule: an account's health on day d is the stored snapshot of d when there is one
//! (the worker stores one a day; `mikawaya health --store` fills the past), else it is
//! computed now by the scorecards in force ([`CardSet`]), exactly as the snapshot would be.
//! Percentile measures rank an account among all accounts of its card and tier, whoever
//! asks, so the peers are read with the system's access (named [`peers_access`]).

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::{UsageSource, WithFacts};
use mikawaya_analytics::scorecard::{AccountHealth, CardSet, Colour, MeasureScore};
use mikawaya_domain::account::Account;
use mikawaya_domain::{AccountId, Actor, ReadAccess};
use mikawaya_playbooks::health::{SCORECARD, card_set};
use mikawaya_store::Store;
use mikawaya_store::StoreError;
use mikawaya_store::work::HealthRow;
use std::collections::BTreeMap;

pub use mikawaya_analytics::scorecard::shown;

/// How many weeks of history [`account_health`] returns.
pub const HISTORY_WEEKS: i64 = 26;

/// One account's health: now, 30 days before (for the drivers' change), and weekly history.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthView {
    /// The day asked for.
    pub day: Date,
    /// Health on `day` (none: the account has no score, e.g. every measure missing).
    pub now: Option<AccountHealth>,
    /// Health 30 days before `day`.
    pub before: Option<AccountHealth>,
    /// One point a week for [`HISTORY_WEEKS`] weeks, ending on `day`.
    pub history: Vec<(Date, Option<f64>)>,
}

/// The access percentile peers are read with: every account, because a rank among only
/// the accounts a partner can see would give that partner another score.
pub fn peers_access() -> ReadAccess {
    Actor::system().read()
}

/// Health of every account visible to `access` on `day` (see the module doc for the rule).
pub fn scores_on(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    day: Date,
) -> Result<BTreeMap<AccountId, AccountHealth>> {
    let visible = store.all_accounts(access)?;
    let mut scores = stored_on(store, access, None, day)?;
    if visible.iter().any(|a| !scores.contains_key(&a.id)) {
        let mut computed = computed_on(store, usage, &[day])?.pop().unwrap_or_default();
        for account in &visible {
            if let Some(health) = computed.remove(&account.id) {
                scores.entry(account.id).or_insert(health);
            }
        }
    }
    let ids: std::collections::HashSet<AccountId> = visible.iter().map(|a| a.id).collect();
    scores.retain(|id, _| ids.contains(id));
    Ok(scores)
}

/// One account's health on `day`, 30 days before, and weekly over [`HISTORY_WEEKS`] weeks.
/// An account the caller cannot see is [`StoreError::NotFound`].
pub fn account_health(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    account: AccountId,
    day: Date,
) -> Result<HealthView> {
    store.get_account(access, account)?;
    let month_ago = days_before(day, 30);
    let weeks: Vec<Date> = (0..HISTORY_WEEKS)
        .rev()
        .map(|w| days_before(day, 7 * w))
        .collect();
    let first = weeks.first().copied().unwrap_or(day).min(month_ago);
    let rows = store.health_rows(access, SCORECARD, Some(&[account]), first, day)?;
    let mut stored: BTreeMap<Date, AccountHealth> = BTreeMap::new();
    for row in &rows {
        stored.insert(row.day, from_row(row)?);
    }
    // Days without a stored row are computed, all in one pass over the accounts.
    let mut wanted: Vec<Date> = weeks.clone();
    wanted.extend([day, month_ago]);
    wanted.sort();
    wanted.dedup();
    let missing: Vec<Date> = if stored.is_empty() {
        wanted
    } else {
        // With snapshots, history is what was stored; only today and a month ago are
        // filled in when they were not.
        [day, month_ago]
            .into_iter()
            .filter(|d| !stored.contains_key(d))
            .collect()
    };
    let mut computed: BTreeMap<Date, AccountHealth> = BTreeMap::new();
    if !missing.is_empty() {
        for (missing_day, mut scores) in missing.iter().zip(computed_on(store, usage, &missing)?) {
            if let Some(health) = scores.remove(&account) {
                computed.insert(*missing_day, health);
            }
        }
    }
    let on = |d: &Date| stored.get(d).or_else(|| computed.get(d)).cloned();
    let history = if rows.is_empty() {
        weeks
            .iter()
            .map(|d| (*d, on(d).and_then(|h| h.score)))
            .collect()
    } else {
        rows.iter()
            .filter(|r| r.day >= weeks.first().copied().unwrap_or(day))
            .map(|r| (r.day, r.score))
            .collect()
    };
    Ok(HealthView {
        day,
        now: on(&day),
        before: on(&month_ago).or_else(|| {
            // A snapshot taken on another weekday: the latest stored on or before.
            stored
                .range(..=month_ago)
                .next_back()
                .map(|(_, h)| h.clone())
        }),
        history,
    })
}

/// The stored health of visible accounts on `day`.
fn stored_on(
    store: &dyn Store,
    access: &ReadAccess,
    accounts: Option<&[AccountId]>,
    day: Date,
) -> Result<BTreeMap<AccountId, AccountHealth>> {
    store
        .health_rows(access, SCORECARD, accounts, day, day)?
        .iter()
        .map(|row| Ok((row.account_id, from_row(row)?)))
        .collect()
}

/// Every account's health computed now by the cards in force, on each of `days`.
fn computed_on(
    store: &dyn Store,
    usage: &dyn UsageSource,
    days: &[Date],
) -> Result<Vec<BTreeMap<AccountId, AccountHealth>>> {
    let access = peers_access();
    let accounts: Vec<Account> = store.all_accounts(&access)?;
    let cards: CardSet = card_set(store, &access)?;
    let facts = mikawaya_playbooks::facts::account_facts(store, &access)?;
    let source = WithFacts {
        usage,
        facts: &facts,
    };
    Ok(cards.score_days(&source, &accounts, days))
}

/// A stored row read back; measures that do not parse are corrupt data, never defaulted.
fn from_row(row: &HealthRow) -> Result<AccountHealth> {
    let measures: Vec<MeasureScore> = serde_json::from_str(&row.measures).map_err(|e| {
        StoreError::Corrupt(format!(
            "health of account {} on {}: measures: {e}",
            row.account_id, row.day
        ))
    })?;
    Ok(AccountHealth {
        card: row.card.clone(),
        score: row.score,
        colour: row.score.map(Colour::of),
        measures,
    })
}

fn days_before(day: Date, days: i64) -> Date {
    day.checked_sub(jiff::Span::new().days(days)).unwrap_or(day)
}
