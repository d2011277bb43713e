//! Churn forecast: an L2-regularized logistic regression (linfa-logistic) on the usage
//! metrics and account facts, giving each account a probability of churning within a
//! horizon and the factors that push it up.
//!
//! - Features: the `default` scorecard's metrics, every defined metric, log MRR and log
//!   tenure. Counts, sums, distinct users, per-month rates, days-since and MRR are
//!   fat-tailed and non-negative, so they enter as `ln(1 + x)`; ratios and percent
//!   changes enter as they are (clipped to ±500). Every feature is standardized with the
//!   training mean and standard deviation; a missing value becomes the mean (0 after
//!   standardizing).
//! - Examples: on each observation date, every paying account, labelled by whether it
//!   stopped paying within the horizon (`shared/domain.md`'s churn).
//! - The regularization strength is chosen by cross-validation over time-ordered folds:
//!   the observation dates are cut into consecutive blocks; fold k trains on the blocks
//!   before block k and is scored (AUC) on block k, so the model never learns from the
//!   future it is judged on. Training examples whose outcome window reaches into the
//!   validation block are left out of that fold (a purge of one horizon), so no churn
//!   is seen in both.

use crate::backtest::{Observation, auc};
use crate::churn::{RevenueRow, mrr_by_account};
pub use crate::metrics::Subject;
use crate::metrics::{Metric, MetricKind, UsageSource};
use jiff::civil::Date;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use mikawaya_domain::AccountId;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Errors of the forecast.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// Not enough data to train.
    #[error("not enough data to train: {0}")]
    NotEnoughData(String),
    /// The optimizer failed.
    #[error("training failed: {0}")]
    Training(String),
}

/// What a feature measures.
#[derive(Debug, Clone)]
pub enum FeatureKind {
    /// A usage metric.
    Metric(Box<Metric>),
    /// The account's MRR on the day.
    Mrr,
    /// Days since the account's first day.
    Tenure,
}

/// One input of the model.
#[derive(Debug, Clone)]
pub struct Feature {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub kind: FeatureKind,
    /// Enters as ln(1 + x).
    pub log: bool,
}

/// The features for a set of metrics: each metric, then MRR and tenure.
pub fn features(metrics: &[Metric]) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for metric in metrics {
        if out.iter().any(|f| f.name == metric.name().as_str()) {
            continue;
        }
        // ln(1 + x) only for values that cannot be negative.
        let log = match metric.kind() {
            MetricKind::Ratio { .. } | MetricKind::PctChange { .. } => false,
            MetricKind::SumOf { terms } => terms.iter().all(|(weight, _)| *weight >= 0.0),
            _ => true,
        };
        out.push(Feature {
            name: metric.name().to_string(),
            kind: FeatureKind::Metric(Box::new(metric.clone())),
            log,
        });
    }
    out.push(Feature {
        name: "mrr".to_owned(),
        kind: FeatureKind::Mrr,
        log: true,
    });
    out.push(Feature {
        name: "tenure_days".to_owned(),
        kind: FeatureKind::Tenure,
        log: true,
    });
    out
}

/// Raw feature values of one account on one day (before scaling).
pub fn raw_values(
    features: &[Feature],
    usage: &dyn UsageSource,
    subject: &Subject,
    day: Date,
    mrr: f64,
) -> Vec<Option<f64>> {
    features
        .iter()
        .map(|feature| {
            let value = match &feature.kind {
                FeatureKind::Metric(metric) => metric.value(usage, subject, day),
                FeatureKind::Mrr => Some(mrr),
                FeatureKind::Tenure => subject
                    .tenure_start
                    .map(|s| f64::from((day - s).get_days().max(0))),
            }?;
            Some(if feature.log {
                value.max(0.0).ln_1p()
            } else {
                value.clamp(-500.0, 500.0)
            })
        })
        .collect()
}

/// One labelled example.
#[derive(Debug, Clone)]
pub struct Example {
    /// The observation date.
    pub date: Date,
    /// The account.
    pub account: AccountId,
    /// Transformed (not yet standardized) values.
    pub values: Vec<Option<f64>>,
    /// Stopped paying within the horizon.
    pub churned: bool,
}

/// Examples on each date: every paying account, labelled by churn within `horizon_days`.
pub fn examples(
    features: &[Feature],
    usage: &dyn UsageSource,
    rows: &[RevenueRow],
    subjects: &[Subject],
    dates: &[Date],
    horizon_days: i32,
) -> Vec<Example> {
    let mut out = Vec::new();
    for date in dates {
        let Some(later) = mikawaya_domain::value::add_days(*date, i64::from(horizon_days)) else {
            continue;
        };
        let paying = mrr_by_account(rows, *date);
        let still = mrr_by_account(rows, later);
        for subject in subjects {
            let Some(mrr) = paying.get(&subject.id).copied().filter(|m| *m > 0.0) else {
                continue;
            };
            out.push(Example {
                date: *date,
                account: subject.id,
                values: raw_values(features, usage, subject, *date, mrr),
                churned: !still.get(&subject.id).is_some_and(|m| *m > 0.0),
            });
        }
    }
    out
}

/// Cross-validation result of one regularization strength.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// L2 strength.
    pub alpha: f64,
    /// Mean validation AUC over the folds.
    pub mean_auc: Option<f64>,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Feature names, in order.
    pub features: Vec<String>,
    /// Training means (after the log transform).
    pub means: Vec<f64>,
    /// Training standard deviations.
    pub stds: Vec<f64>,
    /// Coefficients per standardized feature (log-odds).
    pub coefficients: Vec<f64>,
    /// Intercept (log-odds).
    pub intercept: f64,
    /// The chosen L2 strength.
    pub alpha: f64,
    /// Every strength tried, with its cross-validated AUC.
    pub candidates: Vec<Candidate>,
    /// The horizon in days.
    pub horizon_days: i32,
    /// Training examples and churned among them.
    pub n: usize,
    /// Churned examples.
    pub n_churned: usize,
    /// Last observation date trained on.
    pub trained_through: Option<Date>,
}

/// A factor of one prediction: a feature's push on the log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Feature name.
    pub feature: String,
    /// Its raw value (after the log transform, before scaling), if known.
    pub value: Option<f64>,
    /// Coefficient × standardized value: positive raises the churn probability.
    pub contribution: f64,
}

fn scale(values: &[Option<f64>], means: &[f64], stds: &[f64]) -> Vec<f64> {
    values
        .iter()
        .zip(means.iter().zip(stds))
        .map(|(v, (mean, std))| v.map_or(0.0, |v| (v - mean) / std))
        .collect()
}

fn moments(examples: &[&Example], width: usize) -> (Vec<f64>, Vec<f64>) {
    let mut means = vec![0.0; width];
    let mut stds = vec![1.0; width];
    for j in 0..width {
        let known: Vec<f64> = examples.iter().filter_map(|e| e.values[j]).collect();
        if known.is_empty() {
            continue;
        }
        let mean = known.iter().sum::<f64>() / known.len() as f64;
        let var = known.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / known.len() as f64;
        means[j] = mean;
        stds[j] = if var.sqrt() > 1e-9 { var.sqrt() } else { 1.0 };
    }
    (means, stds)
}

fn fit(examples: &[&Example], names: &[String], alpha: f64) -> Result<Model, ForecastError> {
    let width = names.len();
    let (means, stds) = moments(examples, width);
    let mut x = Array2::<f64>::zeros((examples.len(), width));
    for (i, example) in examples.iter().enumerate() {
        for (j, value) in scale(&example.values, &means, &stds)
            .into_iter()
            .enumerate()
        {
            x[[i, j]] = value;
        }
    }
    let y: Array1<bool> = examples.iter().map(|e| e.churned).collect();
    let n_churned = examples.iter().filter(|e| e.churned).count();
    if n_churned == 0 || n_churned == examples.len() {
        return Err(ForecastError::NotEnoughData(
            "the examples need both churned and retained accounts".into(),
        ));
    }
    let fitted = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(200)
        .fit(&Dataset::new(x, y))
        .map_err(|e| ForecastError::Training(e.to_string()))?;
    // linfa's probabilities are of the more frequent class; turn them into P(churned).
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Model {
        features: names.to_vec(),
        means,
        stds,
        coefficients: fitted.params().iter().map(|w| sign * w).collect(),
        intercept: sign * fitted.intercept(),
        alpha,
        candidates: Vec::new(),
        horizon_days: 0,
        n: examples.len(),
        n_churned,
        trained_through: examples.iter().map(|e| e.date).max(),
    })
}

/// The L2 strengths tried.
pub const ALPHAS: &[f64] = &[0.001, 0.01, 0.1, 1.0, 10.0, 100.0];

/// Trains on `examples`, choosing the strength by time-ordered cross-validation over
/// `folds` folds.
pub fn train(
    features: &[Feature],
    examples: &[Example],
    horizon_days: i32,
    folds: usize,
) -> Result<Model, ForecastError> {
    let names: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
    let dates: Vec<Date> = examples
        .iter()
        .map(|e| e.date)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if dates.len() < folds + 1 {
        return Err(ForecastError::NotEnoughData(format!(
            "{} observation dates; time-ordered cross-validation with {folds} folds needs at least {}",
            dates.len(),
            folds + 1
        )));
    }
    // Blocks of consecutive dates; fold k trains on blocks < k and validates on block k.
    let block = |date: Date| {
        let index = dates.iter().position(|d| *d == date).unwrap_or(0);
        index * (folds + 1) / dates.len()
    };
    let mut candidates = Vec::new();
    for alpha in ALPHAS {
        let mut scores = Vec::new();
        for k in 1..=folds {
            let Some(first) = dates.iter().find(|d| block(**d) == k).copied() else {
                continue;
            };
            let train_set: Vec<&Example> = examples
                .iter()
                .filter(|e| block(e.date) < k)
                .filter(|e| {
                    e.date
                        .checked_add(jiff::Span::new().days(i64::from(horizon_days)))
                        .is_ok_and(|end| end <= first)
                })
                .collect();
            let valid: Vec<&Example> = examples.iter().filter(|e| block(e.date) == k).collect();
            let Ok(model) = fit(&train_set, &names, *alpha) else {
                continue;
            };
            let observations: Vec<Observation> = valid
                .iter()
                .map(|e| Observation {
                    risk: model.probability(&e.values),
                    churned: e.churned,
                })
                .collect();
            if let Some(score) = auc(&observations) {
                scores.push(score);
            }
        }
        candidates.push(Candidate {
            alpha: *alpha,
            mean_auc: (!scores.is_empty())
                .then(|| scores.iter().sum::<f64>() / scores.len() as f64),
        });
    }
    let best = candidates
        .iter()
        .filter_map(|c| c.mean_auc.map(|a| (c.alpha, a)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1.0, |(alpha, _)| alpha);
    let all: Vec<&Example> = examples.iter().collect();
    let mut model = fit(&all, &names, best)?;
    model.candidates = candidates;
    model.horizon_days = horizon_days;
    Ok(model)
}

impl Model {
    /// The churn probability of transformed values.
    pub fn probability(&self, values: &[Option<f64>]) -> f64 {
        let z: f64 = scale(values, &self.means, &self.stds)
            .iter()
            .zip(&self.coefficients)
            .map(|(x, w)| x * w)
            .sum::<f64>()
            + self.intercept;
        1.0 / (1.0 + (-z).exp())
    }

    /// Each feature's push on the log-odds, strongest churn-raising first.
    pub fn factors(&self, values: &[Option<f64>]) -> Vec<Factor> {
        let mut factors: Vec<Factor> = scale(values, &self.means, &self.stds)
            .into_iter()
            .zip(&self.coefficients)
            .zip(self.features.iter().zip(values))
            .map(|((x, w), (name, raw))| Factor {
                feature: name.clone(),
                value: *raw,
                contribution: x * w,
            })
            .collect();
        factors.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        factors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(day: i8, x: f64, churned: bool) -> Example {
        Example {
            date: jiff::civil::date(2026, 1, day),
            account: AccountId::new(i64::from(day)),
            values: vec![Some(x), None],
            churned,
        }
    }

    /// Churn when x is low: the model must learn a negative coefficient on x, rank a low
    /// x as riskier, name x as the top factor of a low value, and impute the missing
    /// feature as its mean (no push).
    #[test]
    fn learns_the_direction_and_explains_it() -> Result<(), ForecastError> {
        let mut data = Vec::new();
        for day in 1..=28i8 {
            for i in 0..10 {
                let x = f64::from(i);
                // Low x churns, with some noise at x = 3 and 6.
                data.push(example(day, x, x < 3.0 || (x == 6.0 && day % 4 == 0)));
            }
        }
        let names = [
            Feature {
                name: "x".into(),
                kind: FeatureKind::Mrr,
                log: false,
            },
            Feature {
                name: "missing".into(),
                kind: FeatureKind::Tenure,
                log: false,
            },
        ];
        let model = train(&names, &data, 1, 3)?;
        assert!(model.coefficients[0] < 0.0, "{model:?}");
        assert!(model.probability(&[Some(1.0), None]) > model.probability(&[Some(8.0), None]));
        let factors = model.factors(&[Some(0.0), None]);
        assert_eq!(factors[0].feature, "x");
        assert!(factors[0].contribution > 0.0);
        assert_eq!(
            factors
                .iter()
                .find(|f| f.feature == "missing")
                .map(|f| f.contribution),
            Some(0.0)
        );
        assert_eq!(model.candidates.len(), ALPHAS.len());
        assert!(
            model
                .candidates
                .iter()
                .all(|c| c.mean_auc.is_some_and(|a| a > 0.8))
        );
        Ok(())
    }

    #[test]
    fn refuses_too_few_dates() {
        let data = vec![example(1, 1.0, true), example(1, 2.0, false)];
        let names = [Feature {
            name: "x".into(),
            kind: FeatureKind::Mrr,
            log: false,
        }];
        assert!(matches!(
            train(&names, &data, 90, 3),
            Err(ForecastError::NotEnoughData(_))
        ));
    }
}
