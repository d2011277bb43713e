//! The churn forecast as use cases: train a model on the year before a day and save it as
//! the next version; predict every paying account's churn probability with the factors
//! that raise it; backtest the forecast against the scorecards in force on held-out dates.
//! The CLI (`mikawaya forecast ...`) and, next, the leader's pages call these.

use crate::Result;
use crate::backtest::observation_dates;
use jiff::civil::Date;
use mikawaya_analytics::backtest::{Backtest, Observation, backtest};
use mikawaya_analytics::churn::{RevenueRow, mrr_by_account};
use mikawaya_analytics::forecast::{self, Example, Factor, Feature, ForecastError, Model};
use mikawaya_analytics::metrics::{
    AccountFacts, Metric, MetricSpec, Subject, UsageSource, WithFacts,
};
use mikawaya_analytics::scorecard::{CardSet, Scorecard, SeriesMemo};
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::value::shown_to;
use mikawaya_domain::{AccountId, Actor, Invalid, ReadAccess};
use mikawaya_store::{Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;

/// How a forecast is trained and judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The day the model stands on: it learns from the year of observations before it.
    pub as_of: Date,
    /// Churn within this many days counts.
    pub horizon_days: i32,
    /// Days between observation dates.
    pub every_days: i32,
    /// Time-ordered cross-validation folds.
    pub folds: usize,
}

impl Plan {
    /// The observation dates: every `every_days` over the year that ends `horizon_days`
    /// before `as_of` (so every label is known on `as_of`).
    pub fn dates(&self) -> Result<Vec<Date>> {
        if self.horizon_days < 1 {
            return Err(Invalid::new("horizon_days", "must be at least 1").into());
        }
        let to = mikawaya_domain::value::add_days(self.as_of, -i64::from(self.horizon_days))
            .ok_or_else(|| Invalid::new("horizon_days", "reaches before the calendar begins"))?;
        let from = to
            .checked_sub(jiff::Span::new().days(365))
            .map_err(|e| Invalid::new("as_of", e.to_string()))?;
        observation_dates(from, to, self.every_days)
    }
}

/// What the forecast reads: revenue history, accounts, features and account facts.
pub(crate) struct History {
    pub(crate) rows: Vec<RevenueRow>,
    pub(crate) subjects: Vec<Subject>,
    pub(crate) accounts: Vec<mikawaya_domain::account::Account>,
    pub(crate) features: Vec<Feature>,
    pub(crate) facts: AccountFacts,
}

pub(crate) fn history(store: &dyn Store, access: &ReadAccess) -> Result<History> {
    let accounts = store.all_accounts(access)?;
    let subscriptions = store.all_subscriptions(access)?;
    let rows = subscriptions.iter().map(RevenueRow::from).collect();
    let mut metrics: Vec<Metric> = Scorecard::default_card()
        .measures()
        .iter()
        .map(|m| m.metric().clone())
        .collect();
    for (name, spec) in store.list_metrics()? {
        let spec: MetricSpec = serde_json::from_str(&spec)
            .map_err(|e| StoreError::Corrupt(format!("metric {name}: {e}")))?;
        metrics.push(Metric::check(&spec)?);
    }
    let facts = mikawaya_playbooks::facts::facts_with(store, access, &accounts, &subscriptions)?;
    Ok(History {
        rows,
        subjects: accounts.iter().map(Subject::of).collect(),
        accounts,
        features: forecast::features(&metrics),
        facts,
    })
}

/// A saved model.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    /// Its version.
    pub version: i64,
    /// The model.
    pub model: Model,
    /// When it was trained (saved).
    pub saved_at: jiff::Timestamp,
}

/// Trains a model on the plan's observations and saves it as the next version.
pub fn train(store: &dyn Store, usage: &dyn UsageSource, plan: &Plan) -> Result<SavedModel> {
    let system = Actor::system();
    let history = history(store, &system.read())?;
    let dates = plan.dates()?;
    let source = WithFacts {
        usage,
        facts: &history.facts,
    };
    let examples = forecast::examples(
        &history.features,
        &source,
        &history.rows,
        &history.subjects,
        &dates,
        plan.horizon_days,
    );
    let model = forecast::train(&history.features, &examples, plan.horizon_days, plan.folds)?;
    let json = serde_json::to_string(&model)
        .map_err(|e| StoreError::Corrupt(format!("forecast model: {e}")))?;
    let saved = store.put_config(&system.manage()?, ConfigKind::ForecastModel, &json)?;
    let version = saved.version;
    Ok(SavedModel {
        version,
        model,
        saved_at: saved.saved_at,
    })
}

/// One account's churn probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The account.
    pub account_id: i64,
    /// Its external id.
    pub account_external_id: Option<String>,
    /// Probability of churning within the model's horizon.
    pub probability: f64,
    /// The (up to three) factors that raise it most.
    pub top_factors: Vec<Factor>,
}

/// The latest saved model; `None` when none was trained.
pub fn latest_model(store: &dyn Store, access: &ReadAccess) -> Result<Option<SavedModel>> {
    let Some(saved) = store.config(access, ConfigKind::ForecastModel, None)? else {
        return Ok(None);
    };
    let model: Model = serde_json::from_str(&saved.body)
        .map_err(|e| StoreError::Corrupt(format!("forecast model v{}: {e}", saved.version)))?;
    Ok(Some(SavedModel {
        version: saved.version,
        model,
        saved_at: saved.saved_at,
    }))
}

/// Every paying account's churn probability on `as_of` by the latest model, riskiest first.
/// No model yet, or metrics changed since it was trained: invalid (field `model`).
pub fn predict(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    as_of: Date,
) -> Result<(SavedModel, Vec<Prediction>)> {
    let saved = latest_model(store, access)?.ok_or_else(|| {
        Invalid::new(
            "model",
            "no forecast model yet: run `mikawaya forecast train`",
        )
    })?;
    let history = history(store, access)?;
    let names: Vec<&str> = history.features.iter().map(|f| f.name.as_str()).collect();
    if names
        != saved
            .model
            .features
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    {
        return Err(Invalid::new(
            "model",
            format!(
                "the metrics changed since model v{} was trained: run `mikawaya forecast train`",
                saved.version
            ),
        )
        .into());
    }
    let paying = mrr_by_account(&history.rows, as_of);
    let source = WithFacts {
        usage,
        facts: &history.facts,
    };
    let mut predictions: Vec<Prediction> = history
        .subjects
        .iter()
        .filter_map(|subject| {
            let mrr = paying.get(&subject.id).copied().filter(|m| *m > 0.0)?;
            let values = forecast::raw_values(&history.features, &source, subject, as_of, mrr);
            Some(Prediction {
                account_id: subject.id.get(),
                account_external_id: subject
                    .usage_key
                    .as_deref()
                    .map(|key| shown_to(key, access.visibility()).to_owned()),
                probability: saved.model.probability(&values),
                top_factors: saved
                    .model
                    .factors(&values)
                    .into_iter()
                    .filter(|f| f.contribution > 0.0)
                    .take(3)
                    .collect(),
            })
        })
        .collect();
    predictions.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    Ok((saved, predictions))
}

/// The forecast and the scorecards in force, judged on the same held-out observations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastBacktest {
    /// The horizon.
    pub horizon_days: i32,
    /// Training dates: first, last, how many.
    pub train_dates: (Option<Date>, Option<Date>, usize),
    /// Held-out dates: first, last, how many.
    pub test_dates: (Option<Date>, Option<Date>, usize),
    /// The regularization chosen.
    pub alpha: f64,
    /// The forecast on the held-out observations.
    pub forecast: Backtest,
    /// The health in force (segment scorecards, then `default`) on the same observations.
    pub scorecard: Backtest,
    /// Other card sets asked for (e.g. a suggested card), on the same observations.
    pub others: Vec<Backtest>,
}

/// The plan's dates split in time: the first two thirds to learn from (purged: only dates
/// whose outcome is known before the first held-out date), the last third held out.
pub fn split_dates(plan: &Plan) -> Result<(Vec<Date>, Vec<Date>)> {
    let dates = plan.dates()?;
    let cut = dates.len() * 2 / 3;
    let (before, test_dates) = dates.split_at(cut);
    let first_test = test_dates
        .first()
        .copied()
        .ok_or_else(|| Invalid::new("as_of", "not enough observation dates"))?;
    let train_dates: Vec<Date> = before
        .iter()
        .copied()
        .filter(|d| {
            d.checked_add(jiff::Span::new().days(i64::from(plan.horizon_days)))
                .is_ok_and(|end| end <= first_test)
        })
        .collect();
    Ok((train_dates, test_dates.to_vec()))
}

/// Trains on the first two thirds of the plan's dates ([`split_dates`]) and judges the last
/// third, beside the cards in force and each of `others`, on the same observations.
pub fn backtest_forecast(
    store: &dyn Store,
    usage: &dyn UsageSource,
    plan: &Plan,
    others: &[CardSet],
) -> Result<ForecastBacktest> {
    let access = Actor::system().read();
    let history = history(store, &access)?;
    let (train_dates, test_dates) = split_dates(plan)?;
    let test_dates = test_dates.as_slice();
    let source = WithFacts {
        usage,
        facts: &history.facts,
    };
    let examples = |days: &[Date]| {
        forecast::examples(
            &history.features,
            &source,
            &history.rows,
            &history.subjects,
            days,
            plan.horizon_days,
        )
    };
    let model = forecast::train(
        &history.features,
        &examples(&train_dates),
        plan.horizon_days,
        plan.folds,
    )?;
    let test: Vec<Example> = examples(test_dates);
    let in_force = mikawaya_playbooks::health::card_set(store, &access)?;
    let sets: Vec<&CardSet> = std::iter::once(&in_force).chain(others).collect();
    let mut memo = SeriesMemo::default();
    let card_scores: Vec<Vec<Vec<Option<f64>>>> = sets
        .iter()
        .map(|cards| cards.scores_only_days(&source, &history.accounts, test_dates, &mut memo))
        .collect();
    let position: HashMap<Date, usize> = test_dates
        .iter()
        .enumerate()
        .map(|(i, d)| (*d, i))
        .collect();
    let index_of: HashMap<AccountId, usize> = history
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, i))
        .collect();
    let mut forecast_observations = Vec::new();
    let mut card_observations: Vec<Vec<Observation>> = vec![Vec::new(); sets.len()];
    for example in &test {
        let Some(scores) = card_scores
            .iter()
            .map(|scores| {
                scores
                    .get(*position.get(&example.date)?)?
                    .get(*index_of.get(&example.account)?)
                    .copied()
                    .flatten()
            })
            .collect::<Option<Vec<f64>>>()
        else {
            continue;
        };
        forecast_observations.push(Observation {
            risk: model.probability(&example.values),
            churned: example.churned,
        });
        for (observations, score) in card_observations.iter_mut().zip(scores) {
            observations.push(Observation {
                risk: 100.0 - score,
                churned: example.churned,
            });
        }
    }
    let mut card_backtests = card_observations.iter().map(|o| backtest(o));
    Ok(ForecastBacktest {
        horizon_days: plan.horizon_days,
        train_dates: (
            train_dates.first().copied(),
            train_dates.last().copied(),
            train_dates.len(),
        ),
        test_dates: (
            test_dates.first().copied(),
            test_dates.last().copied(),
            test_dates.len(),
        ),
        alpha: model.alpha,
        forecast: backtest(&forecast_observations),
        scorecard: card_backtests.next().unwrap_or_else(|| backtest(&[])),
        others: card_backtests.collect(),
    })
}

/// Not enough observations to train is the caller's (a day too early, too little history).
impl From<ForecastError> for crate::AppError {
    fn from(error: ForecastError) -> Self {
        match error {
            ForecastError::NotEnoughData(reason) => crate::AppError::Invalid(Invalid::new(
                "as_of",
                format!("not enough data to train: {reason}"),
            )),
            other => crate::AppError::Forecast(other),
        }
    }
}
