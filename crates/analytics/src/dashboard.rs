//! The numbers of the dashboards, computed in one pass from plain data so they can be
//! stored once a day and read in a millisecond: health distribution and ARR by health,
//! revenue retention by month, churn by touch tier, and health cohorts (deciles of the
//! score some days ago against churn since).

use crate::churn::{ChurnReport, RevenueRow, churn, churn_by_cohort, mrr_by_account};
use jiff::civil::Date;
use mikawaya_domain::AccountId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Count and ARR of one health band.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Paying accounts.
    pub accounts: u64,
    /// Their ARR.
    pub arr: f64,
}

/// One month's retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthRetention {
    /// `YYYY-MM`.
    pub month: String,
    /// Gross revenue retention of the month.
    pub grr: Option<f64>,
    /// Net revenue retention of the month.
    pub nrr: Option<f64>,
}

/// One tier's churn over the last year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierChurn {
    /// Tier name (`(none)` for unset).
    pub tier: String,
    /// Accounts at the start.
    pub accounts_at_start: u64,
    /// Churned.
    pub churned: u64,
    /// Logo churn rate.
    pub logo_churn_rate: Option<f64>,
    /// GRR.
    pub grr: Option<f64>,
    /// NRR.
    pub nrr: Option<f64>,
}

/// One health decile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    /// Lowest score in it.
    pub low: f64,
    /// Highest score in it.
    pub high: f64,
    /// Accounts.
    pub accounts: u64,
    /// Of those, churned since.
    pub churned: u64,
}

/// The dashboards' numbers as of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The day.
    pub as_of: Date,
    /// The health snapshot day the bands use.
    pub health_day: Option<Date>,
    /// Red, yellow, green, no score.
    pub bands: [Band; 4],
    /// The last 12 full months.
    pub retention: Vec<MonthRetention>,
    /// Churn per tier over the last year.
    pub tiers: Vec<TierChurn>,
    /// The snapshot day the deciles split on.
    pub cohort_day: Option<Date>,
    /// Deciles of the score on `cohort_day`, against churn by `as_of`.
    pub deciles: Vec<Decile>,
}

/// Computes the dashboard from the revenue rows, each account's tier, and two health
/// snapshots: the latest (`health`) and an older one (`cohort`) with their days.
pub fn compute(
    as_of: Date,
    rows: &[RevenueRow],
    tiers: &HashMap<AccountId, String>,
    health: (Option<Date>, &[(AccountId, Option<f64>)]),
    cohort: (Option<Date>, &[(AccountId, Option<f64>)]),
) -> Dashboard {
    let paying = mrr_by_account(rows, as_of);
    let scores: HashMap<AccountId, Option<f64>> = health.1.iter().copied().collect();
    let mut bands = [Band::default(); 4];
    for (account, mrr) in paying.iter().filter(|(_, mrr)| **mrr > 0.0) {
        let band = match scores.get(account).copied().flatten() {
            Some(s) if s < 40.0 => 0,
            Some(s) if s < 70.0 => 1,
            Some(_) => 2,
            None => 3,
        };
        bands[band].accounts += 1;
        bands[band].arr += 12.0 * mrr;
    }
    let this_month = as_of.first_of_month();
    let retention = (1..=12)
        .rev()
        .filter_map(|back| this_month.checked_sub(jiff::Span::new().months(back)).ok())
        .map(|from| {
            let to = from
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(from);
            let report = churn(rows, from, to);
            MonthRetention {
                month: format!("{:04}-{:02}", from.year(), from.month()),
                grr: report.grr,
                nrr: report.nrr,
            }
        })
        .collect();
    let year_ago = as_of
        .checked_sub(jiff::Span::new().years(1))
        .unwrap_or(as_of);
    let tier_churn = churn_by_cohort(rows, year_ago, as_of, &|id| tiers.get(&id).cloned())
        .into_iter()
        .map(|(tier, r): (String, ChurnReport)| TierChurn {
            tier,
            accounts_at_start: r.accounts_at_start,
            churned: r.churned,
            logo_churn_rate: r.logo_churn_rate,
            grr: r.grr,
            nrr: r.nrr,
        })
        .collect();
    let deciles = match cohort.0 {
        Some(day) => {
            let paying_then = mrr_by_account(rows, day);
            let mut scored: Vec<(f64, bool)> = cohort
                .1
                .iter()
                .filter(|(id, _)| paying_then.get(id).is_some_and(|mrr| *mrr > 0.0))
                .filter_map(|(id, score)| {
                    score.map(|s| (s, !paying.get(id).is_some_and(|mrr| *mrr > 0.0)))
                })
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            (0..10)
                .filter_map(|d| {
                    let slice = scored.get(scored.len() * d / 10..scored.len() * (d + 1) / 10)?;
                    let (first, last) = (slice.first()?, slice.last()?);
                    Some(Decile {
                        low: first.0,
                        high: last.0,
                        accounts: slice.len() as u64,
                        churned: slice.iter().filter(|(_, churned)| *churned).count() as u64,
                    })
                })
                .collect()
        }
        None => Vec::new(),
    };
    Dashboard {
        as_of,
        health_day: health.0,
        bands,
        retention,
        tiers: tier_churn,
        cohort_day: cohort.0,
        deciles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use mikawaya_domain::subscription::Term;

    fn row(account: i64, mrr: f64, start: Date, end: Option<Date>) -> RevenueRow {
        RevenueRow {
            account: AccountId::new(account),
            mrr,
            term: Term::new(start, end).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// Four accounts, all paying since 2025-01-01: 1 (100/month, score 20), 2 (200, 50),
    /// 3 (300, 90) and 4 (400, no score); account 1 churns on 2026-05-10.
    #[test]
    fn bands_retention_tiers_and_deciles_by_hand() {
        let start = date(2025, 1, 1);
        let rows = [
            row(1, 100.0, start, Some(date(2026, 5, 10))),
            row(2, 200.0, start, None),
            row(3, 300.0, start, None),
            row(4, 400.0, start, None),
        ];
        let tiers: HashMap<AccountId, String> =
            [(1, "tech"), (2, "tech"), (3, "high"), (4, "high")]
                .into_iter()
                .map(|(id, t)| (AccountId::new(id), t.to_owned()))
                .collect();
        let scores: Vec<(AccountId, Option<f64>)> = vec![
            (AccountId::new(1), Some(20.0)),
            (AccountId::new(2), Some(50.0)),
            (AccountId::new(3), Some(90.0)),
            (AccountId::new(4), None),
        ];
        let today = date(2026, 6, 15);
        let dashboard = compute(
            today,
            &rows,
            &tiers,
            (Some(today), &scores),
            (Some(date(2026, 3, 1)), &scores),
        );
        // Account 1 no longer pays: red is empty; yellow 2 (2,400 ARR), green 3 (3,600), none 4 (4,800).
        assert_eq!(
            dashboard.bands[0],
            Band {
                accounts: 0,
                arr: 0.0
            }
        );
        assert_eq!(
            dashboard.bands[1],
            Band {
                accounts: 1,
                arr: 2400.0
            }
        );
        assert_eq!(
            dashboard.bands[2],
            Band {
                accounts: 1,
                arr: 3600.0
            }
        );
        assert_eq!(
            dashboard.bands[3],
            Band {
                accounts: 1,
                arr: 4800.0
            }
        );
        // May 2026: MRR at start 1,000, churned 100 → GRR = NRR = 0.9.
        let may = dashboard.retention.iter().find(|m| m.month == "2026-05");
        assert_eq!(may.and_then(|m| m.grr), Some(0.9));
        assert_eq!(dashboard.retention.len(), 12);
        assert_eq!(dashboard.retention[11].month, "2026-05");
        // Tech tier: 2 accounts, 1 churned (100 of 300 MRR) → logo churn 0.5, GRR 2/3.
        let tech = dashboard.tiers.iter().find(|t| t.tier == "tech");
        assert_eq!(
            tech.map(|t| (t.accounts_at_start, t.churned, t.logo_churn_rate)),
            Some((2, 1, Some(0.5)))
        );
        assert!(
            tech.and_then(|t| t.grr)
                .is_some_and(|g| (g - 2.0 / 3.0).abs() < 1e-12)
        );
        // Deciles of the three scored accounts: 3 × 1/10 floors to 0, so groups are
        // [0,0), [0,0), [0,1) ... each decile boundary by integer division; every account once.
        let total: u64 = dashboard.deciles.iter().map(|d| d.accounts).sum();
        assert_eq!(total, 3);
        let churned: u64 = dashboard.deciles.iter().map(|d| d.churned).sum();
        assert_eq!(churned, 1);
        assert_eq!(dashboard.deciles[0].low, 20.0);
        assert_eq!(dashboard.deciles[0].churned, 1, "the lowest score churned");
    }
}
