//! The metric explorer, one home for its page: a metric's distribution over the paying
//! accounts on a day, its trend month by month (quartiles), and its backtest (does it
//! predict churn within 90 days?) over the past year, so a metric is proven before a
//! scorecard uses it.

use crate::Result;
use crate::backtest::{Scoring, run};
use crate::forecast::Plan;
use jiff::civil::Date;
use mikawaya_analytics::backtest::Backtest;
use mikawaya_analytics::churn::{RevenueRow, mrr_by_account};
use mikawaya_analytics::metrics::{Metric, MetricKind, Subject, UsageSource, WithFacts};
use mikawaya_domain::ReadAccess;
use mikawaya_store::Store;
use serde::Serialize;

/// One bar of the distribution: accounts whose value is in `[low, high)` (the last bar
/// takes everything from `low` up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// Lowest value in the bar.
    pub low: f64,
    /// Where the next bar starts.
    pub high: f64,
    /// Accounts.
    pub accounts: u64,
}

/// The metric's quartiles on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The day.
    pub day: Date,
    /// Paying accounts with a value.
    pub accounts: u64,
    /// 25th percentile.
    pub p25: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
}

/// What the explorer shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exploration {
    /// The day of the distribution.
    pub day: Date,
    /// Paying accounts with a value that day.
    pub with_value: u64,
    /// Paying accounts without one.
    pub missing: u64,
    /// Ten equal-width bars from the lowest value to the 99th percentile (the last bar
    /// also holds the values above it).
    pub distribution: Vec<Bin>,
    /// The first day of each of the last twelve months, and `day`.
    pub trend: Vec<TrendPoint>,
    /// The direction the backtest assumed.
    pub higher_is_riskier: bool,
    /// Churn within the horizon, observed every 28 days over the year before.
    pub backtest: Backtest,
    /// The backtest's horizon.
    pub horizon_days: i32,
}

/// The direction a metric's risk usually runs: the longer since something happened, the
/// riskier; of everything else, the less, the riskier.
pub fn default_higher_is_riskier(metric: &Metric) -> bool {
    match metric.kind() {
        MetricKind::DaysSince { .. } => true,
        MetricKind::Account { fact } => {
            matches!(
                fact,
                mikawaya_analytics::metrics::AccountFact::DaysSinceTouch
            )
        }
        _ => false,
    }
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

/// Explores `metric` over the accounts `access` can see, on `day`.
pub fn explore(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    metric: &Metric,
    day: Date,
    higher_is_riskier: bool,
) -> Result<Exploration> {
    let accounts = store.all_accounts(access)?;
    let subscriptions = store.all_subscriptions(access)?;
    let rows: Vec<RevenueRow> = subscriptions.iter().map(RevenueRow::from).collect();
    let facts = mikawaya_playbooks::facts::facts_with(store, access, &accounts, &subscriptions)?;
    let source = WithFacts {
        usage,
        facts: &facts,
    };
    let subjects: Vec<Subject> = accounts.iter().map(Subject::of).collect();
    let values_on = |on: Date| -> (Vec<f64>, u64) {
        let paying = mrr_by_account(&rows, on);
        let mut values = Vec::new();
        let mut missing = 0;
        for subject in subjects
            .iter()
            .filter(|s| paying.get(&s.id).is_some_and(|m| *m > 0.0))
        {
            match metric.value(&source, subject, on) {
                Some(value) => values.push(value),
                None => missing += 1,
            }
        }
        values.sort_by(f64::total_cmp);
        (values, missing)
    };
    let (values, missing) = values_on(day);
    let distribution = match (values.first(), quantile(&values, 0.99)) {
        (Some(low), Some(top)) => {
            let width = ((top - low) / 10.0).max(f64::EPSILON);
            let mut bins: Vec<Bin> = (0..10)
                .map(|i| Bin {
                    low: low + width * f64::from(i),
                    high: low + width * f64::from(i + 1),
                    accounts: 0,
                })
                .collect();
            for value in &values {
                let index = (((value - low) / width).floor() as usize).min(9);
                bins[index].accounts += 1;
            }
            bins
        }
        _ => Vec::new(),
    };
    let mut days: Vec<Date> = (1..=12)
        .rev()
        .filter_map(|back| {
            day.first_of_month()
                .checked_sub(jiff::Span::new().months(back - 1))
                .ok()
        })
        .filter(|d| *d < day)
        .collect();
    days.push(day);
    let trend = days
        .iter()
        .map(|on| {
            let (values, _) = values_on(*on);
            TrendPoint {
                day: *on,
                accounts: values.len() as u64,
                p25: quantile(&values, 0.25),
                median: quantile(&values, 0.5),
                p75: quantile(&values, 0.75),
            }
        })
        .collect();
    let plan = Plan {
        as_of: day,
        horizon_days: 90,
        every_days: 28,
        folds: 4,
    };
    let backtest = run(
        store,
        access,
        usage,
        &[Scoring::Metric {
            metric: Box::new(metric.clone()),
            higher_is_riskier,
        }],
        &plan.dates()?,
        plan.horizon_days,
    )?
    .pop()
    .unwrap_or_else(|| mikawaya_analytics::backtest::backtest(&[]));
    Ok(Exploration {
        day,
        with_value: values.len() as u64,
        missing,
        distribution,
        trend,
        higher_is_riskier,
        backtest,
        horizon_days: plan.horizon_days,
    })
}
