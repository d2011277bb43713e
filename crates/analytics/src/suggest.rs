//! Learning a scorecard people can read from the history: a few measures, whole-number
//! weights, and thresholds in each measure's own units, chosen by how well the card ranks
//! the accounts that churned later, with time-ordered validation.
//!
//! The examples (every paying account on every observation date, labelled by churn within
//! the horizon) are split by date: the earlier half *fits* (each candidate's direction and
//! the quantiles its thresholds are taken from), the later half *tunes* (which measures,
//! which thresholds and which weights). Measures are added one at a time (forward
//! selection), each time the one that raises the tuning AUC most, until four are chosen or
//! none adds [`Settings::min_gain`]; then each weight is moved over 1-5 while that helps.
//!
//! A card maps a value linearly from `red` (0) to `green` (100) and averages the measures
//! it has by weight, exactly as [`crate::scorecard::Scorecard`] scores; an example the card
//! cannot score counts as the middle (50) while tuning, so every candidate is judged on
//! the same examples. Judging the card on dates it has not seen is the caller's (the
//! forecast's held-out dates, beside the forecast and the cards in force).

use crate::backtest::{Observation, auc};
use crate::forecast::Example;
use crate::metrics::Metric;
use crate::scorecard::{MeasureSpec, ScorecardSpec};
use jiff::civil::Date;
use mikawaya_domain::Invalid;
use serde::Serialize;

/// How hard the search works.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// At most this many measures.
    pub max_measures: usize,
    /// A measure is added only when it raises the tuning AUC by at least this much.
    pub min_gain: f64,
    /// Candidates with a value on fewer of the examples than this share are left out.
    pub min_coverage: f64,
    /// At most this many examples per half (evenly spaced, so the result does not depend
    /// on chance).
    pub max_examples: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_measures: 4,
            min_gain: 0.003,
            min_coverage: 0.6,
            max_examples: 12_000,
        }
    }
}

/// One chosen measure, with what it showed on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chosen {
    /// The metric's name.
    pub metric: String,
    /// Whether a higher value means more risk (then `red` is above `green`).
    pub higher_is_riskier: bool,
    /// The measure's AUC on its own, on the fitting half.
    pub auc_alone: f64,
    /// Value scoring 0.
    pub red: f64,
    /// Value scoring 100.
    pub green: f64,
    /// Whole-number weight.
    pub weight: u32,
}

/// A suggested card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The card, ready to save or edit.
    pub card: ScorecardSpec,
    /// Its measures, in the order they were chosen.
    pub chosen: Vec<Chosen>,
    /// The card's AUC on the tuning half.
    pub tuning_auc: Option<f64>,
    /// Examples fitted on and tuned on.
    pub fit_examples: usize,
    /// Examples tuned on.
    pub tune_examples: usize,
    /// Candidates considered (after the coverage rule).
    pub candidates: usize,
}

/// A candidate's mapping under test: its column, thresholds and direction.
#[derive(Debug, Clone, Copy)]
struct Mapping {
    column: usize,
    red: f64,
    green: f64,
}

impl Mapping {
    fn score(&self, value: f64) -> f64 {
        (100.0 * (value - self.red) / (self.green - self.red)).clamp(0.0, 100.0)
    }
}

/// Learns a card named `name` from `examples` (values in the order of `metrics`).
/// Refused (field `as_of`) without churned and retained examples on both halves.
pub fn suggest(
    name: &str,
    metrics: &[Metric],
    examples: &[Example],
    settings: &Settings,
) -> Result<Suggestion, Invalid> {
    let mut dates: Vec<Date> = examples.iter().map(|e| e.date).collect();
    dates.sort();
    dates.dedup();
    if dates.len() < 2 {
        return Err(Invalid::new(
            "as_of",
            "not enough history to suggest a scorecard: fewer than two observation dates",
        ));
    }
    let cut = dates[dates.len() / 2];
    let fit = spread(examples.iter().filter(|e| e.date < cut).collect(), settings);
    let tune = spread(
        examples.iter().filter(|e| e.date >= cut).collect(),
        settings,
    );
    for (half, rows) in [("earlier", &fit), ("later", &tune)] {
        let churned = rows.iter().filter(|e| e.churned).count();
        if churned == 0 || churned == rows.len() {
            return Err(Invalid::new(
                "as_of",
                format!(
                    "not enough history to suggest a scorecard: the {half} observation dates need accounts that churned and accounts that stayed"
                ),
            ));
        }
    }
    // Each usable candidate: direction and its own AUC on the fitting half, and the
    // threshold pairs to try, from that half's quantiles: red among the worst tenth, green
    // around the middle, so accounts that behave as most do are green and red is kept for
    // those that behave as the ones that left.
    let mut options: Vec<(usize, bool, f64, Vec<Mapping>)> = Vec::new();
    for (column, _) in metrics.iter().enumerate() {
        let observations: Vec<Observation> = fit
            .iter()
            .filter_map(|e| {
                e.values[column].map(|v| Observation {
                    risk: v,
                    churned: e.churned,
                })
            })
            .collect();
        if (observations.len() as f64) < settings.min_coverage * fit.len() as f64 {
            continue;
        }
        let Some(alone) = auc(&observations) else {
            continue;
        };
        let higher_is_riskier = alone > 0.5;
        let mut values: Vec<f64> = observations.iter().map(|o| o.risk).collect();
        values.sort_by(f64::total_cmp);
        let quantile = |q: f64| nice(values[((values.len() - 1) as f64 * q).round() as usize]);
        let (reds, greens) = if higher_is_riskier {
            ([0.98, 0.95, 0.9], [0.6, 0.5, 0.4])
        } else {
            ([0.02, 0.05, 0.1], [0.4, 0.5, 0.6])
        };
        let mut pairs: Vec<Mapping> = Vec::new();
        for red in reds.map(quantile) {
            for green in greens.map(quantile) {
                let ordered = if higher_is_riskier {
                    red > green
                } else {
                    red < green
                };
                if ordered
                    && !pairs
                        .iter()
                        .any(|p: &Mapping| p.red == red && p.green == green)
                {
                    pairs.push(Mapping { column, red, green });
                }
            }
        }
        if !pairs.is_empty() {
            options.push((column, higher_is_riskier, alone.max(1.0 - alone), pairs));
        }
    }
    // A card is judged on each half and the two AUCs averaged: a choice must hold on the
    // earlier dates and on the later ones, not only on one half's few churned accounts.
    let judge_on = |rows: &[&Example], chosen: &[(Mapping, u32)]| -> Option<f64> {
        let observations: Vec<Observation> = rows
            .iter()
            .map(|example| {
                let (total, weights) = chosen.iter().fold((0.0, 0.0), |(t, w), (m, weight)| {
                    match example.values[m.column] {
                        Some(v) => (t + m.score(v) * f64::from(*weight), w + f64::from(*weight)),
                        None => (t, w),
                    }
                });
                let score = if weights > 0.0 { total / weights } else { 50.0 };
                Observation {
                    risk: 100.0 - score,
                    churned: example.churned,
                }
            })
            .collect();
        auc(&observations)
    };
    let judge = |chosen: &[(Mapping, u32)]| -> Option<f64> {
        Some((judge_on(&fit, chosen)? + judge_on(&tune, chosen)?) / 2.0)
    };
    let mut chosen: Vec<(Mapping, u32)> = Vec::new();
    let mut best = 0.5;
    while chosen.len() < settings.max_measures {
        let mut step: Option<((Mapping, u32), f64)> = None;
        for (column, _, _, pairs) in &options {
            if chosen.iter().any(|(m, _)| m.column == *column) {
                continue;
            }
            let weights: &[u32] = if chosen.is_empty() { &[1] } else { &[1, 2, 3] };
            for pair in pairs {
                for weight in weights {
                    let mut trial = chosen.clone();
                    trial.push((*pair, *weight));
                    if let Some(found) = judge(&trial)
                        && step.as_ref().is_none_or(|(_, s)| found > *s)
                    {
                        step = Some(((*pair, *weight), found));
                    }
                }
            }
        }
        match step {
            Some((measure, found)) if found >= best + settings.min_gain => {
                chosen.push(measure);
                best = found;
            }
            _ => break,
        }
    }
    if chosen.is_empty() {
        return Err(Invalid::new(
            "as_of",
            "no measure ranks the accounts that churned apart from those that stayed",
        ));
    }
    // Weights: move each over 1-5 while the tuning AUC rises (twice round).
    for _ in 0..2 {
        for index in 0..chosen.len() {
            for weight in 1..=5 {
                let mut trial = chosen.clone();
                trial[index].1 = weight;
                if let Some(found) = judge(&trial)
                    && found > best + 1e-9
                {
                    chosen = trial;
                    best = found;
                }
            }
        }
    }
    let divisor = chosen.iter().map(|(_, w)| *w).fold(0, gcd).max(1);
    let chosen: Vec<Chosen> = chosen
        .iter()
        .map(|(mapping, weight)| {
            let (higher_is_riskier, alone) = options
                .iter()
                .find(|(c, ..)| *c == mapping.column)
                .map_or((false, 0.5), |(_, higher, alone, _)| (*higher, *alone));
            Chosen {
                metric: metrics[mapping.column].name().to_string(),
                higher_is_riskier,
                auc_alone: alone,
                red: mapping.red,
                green: mapping.green,
                weight: weight / divisor,
            }
        })
        .collect();
    let card = ScorecardSpec {
        name: name.to_owned(),
        measures: chosen
            .iter()
            .map(|c| MeasureSpec {
                metric: metric_spec(metrics, &c.metric),
                weight: f64::from(c.weight),
                red: Some(c.red),
                green: Some(c.green),
                percentile: false,
            })
            .collect(),
    };
    Ok(Suggestion {
        card,
        chosen,
        tuning_auc: Some(best),
        fit_examples: fit.len(),
        tune_examples: tune.len(),
        candidates: options.len(),
    })
}

fn metric_spec(metrics: &[Metric], name: &str) -> crate::metrics::MetricSpec {
    metrics
        .iter()
        .find(|m| m.name().as_str() == name)
        .map(|m| m.spec().clone())
        .unwrap_or_default()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// At most `max_examples`, evenly spaced through the half (in date order).
fn spread<'a>(rows: Vec<&'a Example>, settings: &Settings) -> Vec<&'a Example> {
    if rows.len() <= settings.max_examples {
        return rows;
    }
    let step = rows.len() as f64 / settings.max_examples as f64;
    (0..settings.max_examples)
        .map(|i| rows[(i as f64 * step) as usize])
        .collect()
}

/// A threshold people can read: two significant digits from 10 up, whole numbers from 1,
/// steps of 0.05 below.
pub fn nice(value: f64) -> f64 {
    let size = value.abs();
    if size >= 10.0 {
        let step = 10f64.powf(size.log10().floor() - 1.0);
        (value / step).round() * step
    } else if size >= 1.0 {
        value.round()
    } else {
        (value * 20.0).round() / 20.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricSpec;
    use jiff::civil::date;
    use mikawaya_domain::AccountId;

    fn metric(name: &str) -> Metric {
        Metric::check(&MetricSpec {
            name: name.into(),
            kind: "distinct_users".into(),
            ..MetricSpec::default()
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn thresholds_are_round_in_the_measures_units() {
        assert_eq!(nice(137.0), 140.0);
        assert_eq!(nice(1234.0), 1200.0);
        assert_eq!(nice(-37.4), -37.0);
        assert_eq!(nice(4.4), 4.0);
        assert_eq!(nice(0.33), 0.35);
        assert_eq!(nice(0.0), 0.0);
    }

    #[test]
    fn the_measure_that_separates_churn_is_chosen_and_the_noise_is_not() {
        // Two dates of 40 accounts each. `signal` is low exactly for the accounts that
        // churn (every fourth); `noise` follows the account number, unrelated to churn.
        let mut examples = Vec::new();
        for (d, day) in [date(2026, 1, 1), date(2026, 2, 1)].into_iter().enumerate() {
            for account in 0..40i64 {
                let churned = account % 4 == 0;
                let signal = if churned { 2.0 } else { 20.0 } + (account % 3) as f64;
                let noise = ((account * 7 + d as i64) % 11) as f64;
                examples.push(Example {
                    date: day,
                    account: AccountId::new(account + 1),
                    values: vec![Some(noise), Some(signal)],
                    churned,
                });
            }
        }
        let metrics = [metric("noise"), metric("signal")];
        let found = suggest("learned", &metrics, &examples, &Settings::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.chosen.len(), 1, "{found:?}");
        let only = &found.chosen[0];
        assert_eq!(only.metric, "signal");
        assert!(!only.higher_is_riskier);
        assert_eq!(only.auc_alone, 1.0);
        assert_eq!(found.tuning_auc, Some(1.0));
        assert!(only.red < only.green);
        assert_eq!(found.card.measures[0].weight, 1.0);
        assert_eq!(found.card.measures[0].metric.name, "signal");
        crate::scorecard::Scorecard::check(&found.card).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn history_without_churn_on_one_half_is_refused() {
        let examples: Vec<Example> = [date(2026, 1, 1), date(2026, 2, 1)]
            .into_iter()
            .enumerate()
            .flat_map(|(d, day)| {
                (0..4i64).map(move |a| Example {
                    date: day,
                    account: AccountId::new(a + 1),
                    values: vec![Some(a as f64)],
                    churned: d == 0 && a == 0,
                })
            })
            .collect();
        let refused = suggest("x", &[metric("m")], &examples, &Settings::default());
        assert_eq!(refused.map_err(|e| e.field).err().as_deref(), Some("as_of"));
    }
}
