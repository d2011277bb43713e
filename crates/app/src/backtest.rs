//! Backtests: does a metric or a scorecard predict churn? One home for `mikawaya backtest`,
//! the forecast's comparison and the scorecard editor's draft-versus-current view.
//! Every scoring is run on the same observations: each paying account on each date that
//! every scoring can score, labelled by whether it stopped paying within the horizon.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::backtest::Observation;
use mikawaya_analytics::backtest::{Backtest, backtest, observe};
use mikawaya_analytics::churn::RevenueRow;
use mikawaya_analytics::metrics::{Metric, Subject, UsageSource, WithFacts};
use mikawaya_analytics::scorecard::{CardSet, Scorecard, Scored};
use mikawaya_domain::{AccountId, Invalid, ReadAccess};
use mikawaya_store::Store;
use std::collections::HashMap;

/// A way of ranking accounts by risk.
#[derive(Debug, Clone)]
pub enum Scoring {
    /// A metric's value, risk rising with it or against it.
    Metric {
        /// The metric.
        metric: Metric,
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

/// Observation dates from `from` to `to` every `every_days` (both checked: field named).
pub fn observation_dates(from: Date, to: Date, every_days: i32) -> Result<Vec<Date>> {
    if every_days < 1 {
        return Err(Invalid::new("every_days", "must be at least 1").into());
    }
    if from > to {
        return Err(Invalid::new("from", "must not be after to").into());
    }
    let mut dates = Vec::new();
    let mut date = from;
    while date <= to {
        dates.push(date);
        match date.checked_add(jiff::Span::new().days(every_days)) {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    Ok(dates)
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
    if horizon_days < 1 {
        return Err(Invalid::new("horizon_days", "must be at least 1").into());
    }
    let accounts = store.all_accounts(access)?;
    let subscriptions = store.all_subscriptions(access)?;
    let rows: Vec<RevenueRow> = subscriptions.iter().map(RevenueRow::from).collect();
    let subjects: HashMap<AccountId, Subject> =
        accounts.iter().map(|a| (a.id, Subject::of(a))).collect();
    let facts = mikawaya_playbooks::facts::facts_with(store, access, &accounts, &subscriptions)?;
    let source = WithFacts {
        usage,
        facts: &facts,
    };
    let scored = Scored::from_accounts(&accounts);
    let in_force = if scorings.iter().any(|s| matches!(s, Scoring::InForce)) {
        Some(mikawaya_playbooks::health::card_set(store, access)?)
    } else {
        None
    };
    // Per date, each account's score (accounts without one left out).
    let score_set = |cards: &CardSet| -> Vec<HashMap<AccountId, f64>> {
        cards.scores_only_days(&source, &accounts, dates)
    };
    // A scorecard ranks accounts against each other, so it scores all of them per date.
    let card_scores: Vec<Vec<HashMap<AccountId, f64>>> = scorings
        .iter()
        .map(|scoring| match scoring {
            Scoring::Card(card) => card
                .scores_only_days(&source, &scored, dates)
                .into_iter()
                .map(|day| {
                    scored
                        .iter()
                        .zip(day)
                        .filter_map(|(s, score)| score.map(|score| (s.account.id, score)))
                        .collect()
                })
                .collect(),
            Scoring::InForce => in_force.as_ref().map(score_set).unwrap_or_default(),
            Scoring::Set(cards) => score_set(cards),
            Scoring::Metric { .. } => Vec::new(),
        })
        .collect();
    let position: HashMap<Date, usize> = dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let risk_of = |index: usize, account: AccountId, day: Date| match &scorings[index] {
        Scoring::Metric {
            metric,
            higher_is_riskier,
        } => {
            let value = metric.value(&source, subjects.get(&account)?, day)?;
            Some(if *higher_is_riskier { value } else { -value })
        }
        Scoring::Card(_) | Scoring::InForce | Scoring::Set(_) => card_scores[index]
            .get(*position.get(&day)?)?
            .get(&account)
            .map(|score| 100.0 - score),
    };
    // One pass over the observations: an account on a date counts when every scoring
    // scores it, so each backtest is on the same observations.
    let mut risks: Vec<Vec<f64>> = Vec::new();
    let labels = observe(&rows, dates, horizon_days, &mut |account, day| {
        let all = (0..scorings.len())
            .map(|index| risk_of(index, account, day))
            .collect::<Option<Vec<f64>>>()?;
        risks.push(all);
        Some(0.0)
    });
    Ok((0..scorings.len())
        .map(|index| {
            let observations: Vec<Observation> = labels
                .iter()
                .zip(&risks)
                .map(|(label, risks)| Observation {
                    risk: risks[index],
                    churned: label.churned,
                })
                .collect();
            backtest(&observations)
        })
        .collect())
}
