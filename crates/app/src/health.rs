//! An account's health: its score, colour, the scorecard that made it and its drivers, on
//! a day and over time. One answer everywhere: the Customer 360 page, the API, the CLI and
//! Today read it through [`scores_on`] or [`account_health`].
//!
//! The rule: an account's health on day d is its row in the latest stored snapshot taken
//! within the week up to d by the scorecards still in force (the worker stores one a day;
//! `mikawaya health --store` fills the past; saving new segment scorecards makes earlier
//! rows stale), else it is computed now by the scorecards in force ([`CardSet`]), exactly
//! as a snapshot would be. History is what was stored, whatever cards made it. Percentile measures rank an account among all accounts of its card
//! and tier, whoever asks, so the peers are read with the system's access (named
//! [`peers_access`]).

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::{UsageSource, WithFacts};
use mikawaya_analytics::scorecard::{AccountHealth, CardSet, Colour};
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::account::Account;
use mikawaya_domain::{AccountId, Actor, ReadAccess};
use mikawaya_playbooks::health::{SCORECARD, card_set};
use mikawaya_store::Store;
use mikawaya_store::work::HealthRow;
use std::collections::BTreeMap;

pub use mikawaya_analytics::scorecard::shown;

/// How many weeks of history [`account_health`] returns.
pub const HISTORY_WEEKS: i64 = 26;

/// How old a stored snapshot may be and still stand for a day's health.
pub const SNAPSHOT_DAYS: i64 = 7;

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

/// The stored snapshot that stands for `day`: the latest taken within [`SNAPSHOT_DAYS`]
/// up to it.
fn snapshot_day(store: &dyn Store, day: Date) -> Result<Option<Date>> {
    let oldest = days_before(day, SNAPSHOT_DAYS - 1);
    Ok(store.latest_health_day(SCORECARD, oldest, day)?)
}

/// Health of every account visible to `access` on `day` (see the module doc for the rule).
pub fn scores_on(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    day: Date,
) -> Result<BTreeMap<AccountId, AccountHealth>> {
    let visible = store.all_accounts(access)?;
    let in_force = card_set(store, &peers_access())?.version();
    let mut scores = match snapshot_day(store, day)? {
        Some(snapshot) => stored_on(store, access, None, snapshot, in_force)?,
        None => BTreeMap::new(),
    };
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
/// An account the caller cannot see is [`mikawaya_store::StoreError::NotFound`].
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
    if rows.is_empty() {
        // No snapshot yet: everything is computed, in one pass over the accounts.
        let mut days = weeks.clone();
        days.push(month_ago);
        let mut computed = computed_on(store, usage, &days)?;
        let before = computed.pop().and_then(|mut s| s.remove(&account));
        let history: Vec<(Date, Option<AccountHealth>)> = weeks
            .iter()
            .zip(computed)
            .map(|(d, mut scores)| (*d, scores.remove(&account)))
            .collect();
        let now = history.last().and_then(|(_, h)| h.clone());
        return Ok(HealthView {
            day,
            now,
            before,
            history: history
                .into_iter()
                .map(|(d, h)| (d, h.and_then(|h| h.score)))
                .collect(),
        });
    }
    let mut stored: BTreeMap<Date, AccountHealth> = BTreeMap::new();
    for row in &rows {
        stored.insert(row.day, from_row(row)?);
    }
    // Today's health stands in the stored snapshot only if the cards have not changed since.
    let in_force = card_set(store, &peers_access())?.version();
    let snapshot = snapshot_day(store, day)?.and_then(|d| {
        rows.iter()
            .find(|r| r.day == d && r.cards_version == in_force)
            .map(|r| r.day)
    });
    let now = match snapshot.and_then(|d| stored.get(&d).cloned()) {
        Some(health) => Some(health),
        None => computed_on(store, usage, &[day])?
            .pop()
            .and_then(|mut scores| scores.remove(&account)),
    };
    let week_start = weeks.first().copied().unwrap_or(day);
    Ok(HealthView {
        day,
        now,
        // A snapshot taken on another weekday: the latest stored on or before.
        before: stored
            .range(..=month_ago)
            .next_back()
            .map(|(_, h)| h.clone()),
        history: rows
            .iter()
            .filter(|r| r.day >= week_start)
            .map(|r| (r.day, r.score))
            .collect(),
    })
}

/// The stored health of visible accounts on `day`, made by the cards now in force (rows
/// made before the cards changed are stale and left out).
fn stored_on(
    store: &dyn Store,
    access: &ReadAccess,
    accounts: Option<&[AccountId]>,
    day: Date,
    cards_version: i64,
) -> Result<BTreeMap<AccountId, AccountHealth>> {
    store
        .health_rows(access, SCORECARD, accounts, day, day)?
        .iter()
        .filter(|row| row.cards_version == cards_version)
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
    Ok(AccountHealth {
        card: row.card.clone(),
        score: row.score,
        colour: row.score.map(Colour::of),
        measures: row.measures.clone(),
    })
}

// --- stored snapshots -------------------------------------------------------------

/// The stored row of one account's health on a day.
pub fn health_row(
    account_id: AccountId,
    day: Date,
    health: &AccountHealth,
    cards_version: i64,
) -> HealthRow {
    HealthRow {
        account_id,
        day,
        score: health.score,
        colour: health
            .colour
            .map(|c| mikawaya_playbooks::health::colour_name(c).to_owned()),
        measures: health.measures.clone(),
        card: health.card.clone(),
        cards_version,
    }
}

/// Days a health snapshot scores in one pass.
const SCORED_DAYS_AT_ONCE: usize = 7;

/// Computes and stores the snapshot of each day in `days`: each account is scored by the
/// card the [`CardSet`] in force gives it; returns the rows written.
pub fn snapshot(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    days: &[Date],
) -> Result<usize> {
    let accounts = store.all_accounts(read)?;
    let cards = card_set(store, read)?;
    let facts = mikawaya_playbooks::facts::facts_of(store, read, &accounts)?;
    let source = mikawaya_analytics::metrics::WithFacts {
        usage,
        facts: &facts,
    };
    let mut written = 0;
    // A few days at a time: a backfill of half a year scores each account on every day,
    // and holding all of those at once would cost more memory than the rollups.
    for days in days.chunks(SCORED_DAYS_AT_ONCE) {
        for (day, scores) in days.iter().zip(cards.score_days(&source, &accounts, days)) {
            let rows: Vec<HealthRow> = scores
                .iter()
                .map(|(id, health)| health_row(*id, *day, health, cards.version()))
                .collect();
            written += rows.len();
            store.put_health(access, SCORECARD, *day, &rows)?;
        }
    }
    Ok(written)
}

/// Every `every_days` from `from` to `to` (inclusive), ending exactly on `to`.
pub fn days_back(from: Date, to: Date, every_days: u32) -> Vec<Date> {
    let mut days = Vec::new();
    let mut day = to;
    while day >= from {
        days.push(day);
        match day.checked_sub(jiff::Span::new().days(i64::from(every_days.max(1)))) {
            Ok(previous) => day = previous,
            Err(_) => break,
        }
    }
    days.reverse();
    days
}

fn days_before(day: Date, days: i64) -> Date {
    mikawaya_domain::value::add_days(day, days.saturating_neg()).unwrap_or(day)
}
