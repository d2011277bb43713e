//! Proof that a score predicts churn: for past observation dates, a score per account
//! against whether the account churned within the next N days.
//!
//! - **AUC**: the probability that a randomly chosen churned account is scored riskier
//!   than a randomly chosen retained one, ties counting one half.
//! - **Top-decile lift**: churn rate among the riskiest 10% / overall churn rate.
//! - **Calibration**: accounts split into ten equal groups by risk, with each group's
//!   churn rate.

use crate::churn::{RevenueRow, mrr_by_account};
use jiff::civil::Date;
use mikawaya_domain::AccountId;
use serde::Serialize;

/// One observation: how risky the score says the account is (higher = riskier) and
/// whether it churned within the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Risk, higher is riskier.
    pub risk: f64,
    /// Whether it churned.
    pub churned: bool,
}

/// One risk group of the calibration table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationRow {
    /// 1 = least risky tenth, 10 = riskiest.
    pub decile: u32,
    /// Observations in the group.
    pub n: u64,
    /// Lowest and highest risk in the group.
    pub risk_min: f64,
    /// Highest risk in the group.
    pub risk_max: f64,
    /// Churn rate in the group.
    pub churn_rate: f64,
}

/// The outcome of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Area under the ROC curve; `None` without both churned and retained observations.
    pub auc: Option<f64>,
    /// Churn rate of the riskiest tenth over the overall rate; `None` when nobody churned.
    pub top_decile_lift: Option<f64>,
    /// Observations.
    pub n: u64,
    /// Of which churned.
    pub n_churned: u64,
    /// Ten risk groups, least risky first.
    pub calibration: Vec<CalibrationRow>,
}

/// One observation before it is scored: an account paying on a date, and whether it
/// stopped paying within the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// The account.
    pub account: AccountId,
    /// The observation date.
    pub date: Date,
    /// Whether it churned within the horizon.
    pub churned: bool,
}

/// The observations of `dates`: every account paying on a date, labelled by whether it no
/// longer pays `horizon_days` later (date by date, accounts in id order).
pub fn labels(rows: &[RevenueRow], dates: &[Date], horizon_days: i32) -> Vec<Label> {
    // Who pays on each date and `horizon_days` later, the dates on all cores.
    let paying = crate::parallel::map(dates, |date| {
        let later = mikawaya_domain::value::add_days(*date, i64::from(horizon_days))?;
        Some((mrr_by_account(rows, *date), mrr_by_account(rows, later)))
    });
    let mut labels = Vec::new();
    for (date, paying) in dates.iter().zip(paying) {
        let Some((active, still_active)) = paying else {
            continue;
        };
        labels.extend(active.keys().map(|account| Label {
            account: *account,
            date: *date,
            churned: !still_active.contains_key(account),
        }));
    }
    labels
}

/// Builds observations: on each date, every account active then, scored by `risk` (higher
/// is riskier; `None` leaves the account out that day), and whether it was no longer
/// active `horizon_days` later (churn, as `shared/domain.md` defines it).
pub fn observe(
    rows: &[RevenueRow],
    dates: &[Date],
    horizon_days: i32,
    risk: &mut dyn FnMut(AccountId, Date) -> Option<f64>,
) -> Vec<Observation> {
    labels(rows, dates, horizon_days)
        .into_iter()
        .filter_map(|label| {
            Some(Observation {
                risk: risk(label.account, label.date)?,
                churned: label.churned,
            })
        })
        .collect()
}

/// AUC by ranks (Mann-Whitney U), with tied risks sharing their average rank, so a tie
/// between a churned and a retained account counts one half.
pub fn auc(observations: &[Observation]) -> Option<f64> {
    let mut sorted: Vec<&Observation> = observations.iter().collect();
    sorted.sort_by(|a, b| a.risk.total_cmp(&b.risk));
    let churned = sorted.iter().filter(|o| o.churned).count() as f64;
    let retained = sorted.len() as f64 - churned;
    if churned == 0.0 || retained == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut index = 0;
    while index < sorted.len() {
        let mut end = index;
        while end + 1 < sorted.len() && sorted[end + 1].risk == sorted[index].risk {
            end += 1;
        }
        let average_rank = (index + end) as f64 / 2.0 + 1.0;
        rank_sum += sorted[index..=end].iter().filter(|o| o.churned).count() as f64 * average_rank;
        index = end + 1;
    }
    Some((rank_sum - churned * (churned + 1.0) / 2.0) / (churned * retained))
}

/// Runs the measures over observations.
pub fn backtest(observations: &[Observation]) -> Backtest {
    let n = observations.len();
    let n_churned = observations.iter().filter(|o| o.churned).count();
    let mut riskiest_first: Vec<&Observation> = observations.iter().collect();
    riskiest_first.sort_by(|a, b| b.risk.total_cmp(&a.risk));
    let overall = if n == 0 {
        0.0
    } else {
        n_churned as f64 / n as f64
    };
    let top = n.div_ceil(10);
    let top_rate = if top == 0 {
        0.0
    } else {
        riskiest_first[..top].iter().filter(|o| o.churned).count() as f64 / top as f64
    };
    let calibration = (0..10u32)
        .filter_map(|decile| {
            // Least risky first: decile 1 holds the lowest risks.
            let from = n * decile as usize / 10;
            let to = n * (decile as usize + 1) / 10;
            let group: Vec<&&Observation> = riskiest_first
                .iter()
                .rev()
                .skip(from)
                .take(to - from)
                .collect();
            (!group.is_empty()).then(|| CalibrationRow {
                decile: decile + 1,
                n: group.len() as u64,
                risk_min: group.iter().map(|o| o.risk).fold(f64::INFINITY, f64::min),
                risk_max: group
                    .iter()
                    .map(|o| o.risk)
                    .fold(f64::NEG_INFINITY, f64::max),
                churn_rate: group.iter().filter(|o| o.churned).count() as f64 / group.len() as f64,
            })
        })
        .collect();
    Backtest {
        auc: auc(observations),
        top_decile_lift: (overall > 0.0).then(|| top_rate / overall),
        n: n as u64,
        n_churned: n_churned as u64,
        calibration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observations(pairs: &[(f64, bool)]) -> Vec<Observation> {
        pairs
            .iter()
            .map(|(risk, churned)| Observation {
                risk: *risk,
                churned: *churned,
            })
            .collect()
    }

    #[test]
    fn auc_counts_pairs_and_ties_count_one_half() {
        // Churned risks {3, 2}, retained {2, 1}: pairs (3>2), (3>1), (2=2 → ½), (2>1) → 3.5 / 4.
        let data = observations(&[(3.0, true), (2.0, true), (2.0, false), (1.0, false)]);
        assert_eq!(auc(&data), Some(0.875));
        let perfect = observations(&[(9.0, true), (1.0, false)]);
        assert_eq!(auc(&perfect), Some(1.0));
        let backwards = observations(&[(1.0, true), (9.0, false)]);
        assert_eq!(auc(&backwards), Some(0.0));
        assert_eq!(auc(&observations(&[(1.0, true)])), None);
    }

    #[test]
    fn lift_compares_the_riskiest_tenth_with_everyone() {
        // 20 accounts, risks 0..19; the two riskiest (19, 18) both churned; 4 churned in all.
        let data: Vec<Observation> = (0..20)
            .map(|risk| Observation {
                risk: f64::from(risk),
                churned: matches!(risk, 19 | 18 | 3 | 1),
            })
            .collect();
        let result = backtest(&data);
        assert_eq!((result.n, result.n_churned), (20, 4));
        // top 10% = 2 accounts, both churned: rate 1.0; overall 0.2 → lift 5.
        assert_eq!(result.top_decile_lift, Some(5.0));
        assert_eq!(result.calibration.len(), 10);
        assert_eq!(result.calibration[9].churn_rate, 1.0);
        assert_eq!(
            result.calibration[0].churn_rate, 0.5,
            "risks 0 and 1: one churned"
        );
        assert_eq!(
            (
                result.calibration[0].risk_min,
                result.calibration[0].risk_max
            ),
            (0.0, 1.0)
        );
    }

    #[test]
    fn observations_follow_activity_and_the_horizon() {
        use jiff::civil::date;
        let row = |account: i64, start: Date, end: Option<Date>| RevenueRow {
            account: AccountId::new(account),
            mrr: 10.0,
            term: mikawaya_domain::subscription::Term::new(start, end)
                .unwrap_or_else(|e| panic!("{e}")),
        };
        // 1 runs on; 2 ends Feb 10 (churns within 30 days of Jan 15); 3 starts Feb 1.
        let rows = vec![
            row(1, date(2025, 1, 1), None),
            row(2, date(2025, 1, 1), Some(date(2026, 2, 10))),
            row(3, date(2026, 2, 1), None),
        ];
        let mut scored = |account: AccountId, _| Some(account.get() as f64);
        let found = observe(&rows, &[date(2026, 1, 15)], 30, &mut scored);
        assert_eq!(found, observations(&[(1.0, false), (2.0, true)]));
    }

    #[test]
    fn nobody_churning_has_no_lift_and_no_auc() {
        let result = backtest(&observations(&[(1.0, false), (2.0, false)]));
        assert_eq!((result.auc, result.top_decile_lift), (None, None));
    }
}
