//! Backtests: does a metric or a scorecard predict churn? One home for `mikawaya backtest`,
//! the forecast's comparison and the scorecard editor's draft-versus-current view.
//! Every scoring is run on the same observations: each paying account on each date that
//! every scoring can score, labelled by whether it stopped paying within the horizon.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::backtest::{Backtest, Label, Observation, backtest, labels};
use mikawaya_analytics::churn::RevenueRow;
use mikawaya_analytics::metrics::{AccountFacts, Metric, UsageSource, WithFacts};
use mikawaya_analytics::scorecard::{CardSet, Scorecard, Scored, SeriesMemo};
use mikawaya_domain::account::Account;
use mikawaya_domain::{AccountId, Invalid, ReadAccess, Visibility};
use mikawaya_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A way of ranking accounts by risk.
#[derive(Debug, Clone)]
pub enum Scoring {
    /// A metric's value, risk rising with it or against it.
    Metric {
        /// The metric.
        metric: Box<Metric>,
        /// Whether a higher value is riskier (`days_since`) or lower (usage).
        higher_is_riskier: bool,
    },
    /// A scorecard (risk is 100 minus the score), scoring every account.
    Card(Scorecard),
    /// The scorecards in force (segment cards, then `default`): the health every screen
    /// shows.
    InForce,
    /// A set of cards that is not (yet) in force: a draft.
    Set(Box<CardSet>),
}

/// Observation dates a backtest, a suggestion or a forecast takes at most: each date
/// scores every account, and dates closer than a few days apart add almost nothing (their
/// horizons overlap) while the time grows with each.
pub const MAX_OBSERVATION_DATES: i64 = 120;

/// Observation dates from `from` to `to` every `every_days` (both checked: field named;
/// at most [`MAX_OBSERVATION_DATES`]).
pub fn observation_dates(from: Date, to: Date, every_days: i32) -> Result<Vec<Date>> {
    if every_days < 1 {
        return Err(Invalid::new("every_days", "must be at least 1").into());
    }
    if from > to {
        return Err(Invalid::new("from", "must not be after to").into());
    }
    let span = i64::from((to - from).get_days()).max(0);
    let count = span / i64::from(every_days) + 1;
    if count > MAX_OBSERVATION_DATES {
        let least = (span + MAX_OBSERVATION_DATES - 2) / (MAX_OBSERVATION_DATES - 1);
        return Err(Invalid::new(
            "every_days",
            format!(
                "gives {count} observation dates, more than {MAX_OBSERVATION_DATES}: use {least} days or more"
            ),
        )
        .into());
    }
    let mut dates = Vec::new();
    let mut date = from;
    while date <= to {
        dates.push(date);
        match mikawaya_domain::value::add_days(date, i64::from(every_days)) {
            Some(next) => date = next,
            None => break,
        }
    }
    Ok(dates)
}

/// The book's history a backtest reads: the accounts, their revenue rows and facts, each
/// metric's values on the dates backtested so far, and the labelled observations of each
/// plan of dates. [`HistoryCache`] keeps it between backtests while it still holds.
pub struct History {
    accounts: Vec<Account>,
    rows: Vec<RevenueRow>,
    facts: AccountFacts,
    scored: Vec<Scored>,
    index_of: HashMap<AccountId, usize>,
    memo: Mutex<SeriesMemo>,
    labels: Mutex<HashMap<Observed, Arc<Vec<Label>>>>,
}

/// Observation dates and a horizon: what labels a plan's observations.
type Observed = (Vec<Date>, i32);

impl History {
    /// Reads the history of the accounts `access` can see.
    pub fn read(store: &dyn Store, access: &ReadAccess) -> Result<History> {
        let accounts = store.all_accounts(access)?;
        let subscriptions = store.all_subscriptions(access)?;
        let rows: Vec<RevenueRow> = subscriptions.iter().map(RevenueRow::from).collect();
        let facts =
            mikawaya_playbooks::facts::facts_with(store, access, &accounts, &subscriptions)?;
        let scored = Scored::from_accounts(&accounts);
        let index_of = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        Ok(History {
            accounts,
            rows,
            facts,
            scored,
            index_of,
            memo: Mutex::new(SeriesMemo::default()),
            labels: Mutex::new(HashMap::new()),
        })
    }

    /// Whether a backtest already ran on these dates (their observations are kept).
    pub fn has_run(&self, dates: &[Date], horizon_days: i32) -> bool {
        lock(&self.labels).contains_key(&(dates.to_vec(), horizon_days))
    }

    fn labels(&self, dates: &[Date], horizon_days: i32) -> Arc<Vec<Label>> {
        let mut kept = lock(&self.labels);
        let key = (dates.to_vec(), horizon_days);
        if let Some(found) = kept.get(&key) {
            return Arc::clone(found);
        }
        let found = Arc::new(labels(&self.rows, dates, horizon_days));
        kept.insert(key, Arc::clone(&found));
        found
    }
}

/// A lock whose holder panicked still guards whole values (a memo's values are inserted
/// only after they are all computed), so it is used as is.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a kept [`History`] was read under: whose accounts, the store's history stamp, the
/// usage before the last observation date, and the business time zone.
#[derive(Debug, Clone, PartialEq)]
struct HistoryKey {
    visibility: Visibility,
    stamp: i64,
    usage: u64,
    through: Date,
    zone: Option<String>,
}

/// The last [`History`] read, kept for the next backtest (the scorecard editor backtests
/// one draft after another on the same history). It is used again only while nothing it
/// was read from has changed: the store's history stamp (accounts, subscriptions,
/// touchpoints, answers, pulses, the change log) and the usage up to the last observation
/// date (today's events do not count). A usage source that cannot tell is never kept.
#[derive(Default)]
pub struct HistoryCache {
    kept: Mutex<Option<(HistoryKey, Arc<History>)>>,
}

impl HistoryCache {
    /// The history for backtests on dates up to `through`: the kept one if it still holds,
    /// else read again (and kept).
    pub fn history(
        &self,
        store: &dyn Store,
        access: &ReadAccess,
        usage: &dyn UsageSource,
        through: Date,
    ) -> Result<Arc<History>> {
        let Some(changes) = usage.changes_through(through) else {
            return Ok(Arc::new(History::read(store, access)?));
        };
        let key = HistoryKey {
            visibility: access.visibility(),
            stamp: store.history_stamp()?,
            usage: changes,
            through,
            zone: store.business_time_zone()?.iana_name().map(str::to_owned),
        };
        let mut kept = lock(&self.kept);
        if let Some((found, history)) = kept.as_ref()
            && *found == key
        {
            return Ok(Arc::clone(history));
        }
        // Let the old history go before reading the new one.
        *kept = None;
        let history = Arc::new(History::read(store, access)?);
        *kept = Some((key, Arc::clone(&history)));
        Ok(history)
    }
}

/// Backtests each scoring on the same observations (the accounts `access` can see).
pub fn run(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    scorings: &[Scoring],
    dates: &[Date],
    horizon_days: i32,
) -> Result<Vec<Backtest>> {
    let history = History::read(store, access)?;
    run_on(
        &history,
        store,
        access,
        usage,
        scorings,
        dates,
        horizon_days,
    )
}

/// [`run`] on a history already read (the one a [`HistoryCache`] keeps).
pub fn run_on(
    history: &History,
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    scorings: &[Scoring],
    dates: &[Date],
    horizon_days: i32,
) -> Result<Vec<Backtest>> {
    if horizon_days < 1 {
        return Err(Invalid::new("horizon_days", "must be at least 1").into());
    }
    let source = WithFacts {
        usage,
        facts: &history.facts,
    };
    let (accounts, scored, index_of) = (&history.accounts, &history.scored, &history.index_of);
    let in_force = if scorings.iter().any(|s| matches!(s, Scoring::InForce)) {
        Some(mikawaya_playbooks::health::card_set(store, access)?)
    } else {
        None
    };
    // Per date, per account (in the order of `accounts`), its score; each metric's values
    // computed once for every scoring that measures it (and kept with the history).
    let card_scores: Vec<Vec<Vec<Option<f64>>>> = {
        let mut memo = lock(&history.memo);
        scorings
            .iter()
            .map(|scoring| match scoring {
                Scoring::Card(card) => card.scores_only_days(&source, scored, dates, &mut memo),
                Scoring::InForce => in_force
                    .as_ref()
                    .map(|cards| cards.scores_only_days(&source, accounts, dates, &mut memo))
                    .unwrap_or_default(),
                Scoring::Set(cards) => cards.scores_only_days(&source, accounts, dates, &mut memo),
                Scoring::Metric { .. } => Vec::new(),
            })
            .collect()
    };
    let position: HashMap<Date, usize> = dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let risk_of = |index: usize, account: AccountId, day: Date| match &scorings[index] {
        Scoring::Metric {
            metric,
            higher_is_riskier,
        } => {
            let subject = &scored.get(*index_of.get(&account)?)?.account;
            let value = metric.value(&source, subject, day)?;
            Some(if *higher_is_riskier { value } else { -value })
        }
        Scoring::Card(_) | Scoring::InForce | Scoring::Set(_) => card_scores[index]
            .get(*position.get(&day)?)?
            .get(*index_of.get(&account)?)
            .copied()
            .flatten()
            .map(|score| 100.0 - score),
    };
    // An account on a date counts when every scoring scores it, so each backtest is on the
    // same observations.
    let mut observations: Vec<Vec<Observation>> = vec![Vec::new(); scorings.len()];
    for label in history.labels(dates, horizon_days).iter() {
        let Some(risks) = (0..scorings.len())
            .map(|index| risk_of(index, label.account, label.date))
            .collect::<Option<Vec<f64>>>()
        else {
            continue;
        };
        for (kept, risk) in observations.iter_mut().zip(risks) {
            kept.push(Observation {
                risk,
                churned: label.churned,
            });
        }
    }
    Ok(observations.iter().map(|o| backtest(o)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_dates_are_capped_with_the_spacing_that_fits() {
        let (from, to) = (jiff::civil::date(2025, 1, 1), jiff::civil::date(2026, 1, 1));
        // 365 days: every 4 days gives 92 dates; every 3 would give 122.
        assert_eq!(
            observation_dates(from, to, 4).map(|d| d.len()).ok(),
            Some(92)
        );
        let refused = observation_dates(from, to, 3).map_err(|e| e.to_string());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("122 observation dates") && e.contains("use 4 days")),
            "{refused:?}"
        );
        // Exactly 120 dates is allowed.
        let to = jiff::civil::date(2025, 4, 30);
        assert_eq!(
            observation_dates(from, to, 1).map(|d| d.len()).ok(),
            Some(120)
        );
        assert!(observation_dates(from, to.tomorrow().unwrap_or(to), 1).is_err());
    }
}
