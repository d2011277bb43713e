//! Churn and revenue retention over a period `[t0, t1)`, exactly as `shared/domain.md`
//! defines them:
//!
//! - An account is **active at t** if one of its subscriptions has `start <= t < end`
//!   (no end: still running).
//! - **Logo churn rate**: of the accounts active at t0, the share with no active
//!   subscription at t1.
//! - **MRR churn**: MRR at t0 of the accounts that churned / total MRR at t0.
//! - **GRR** = (MRR at t0 − churned MRR − contraction) / MRR at t0 and **NRR** = (MRR at t0 −
//!   churned MRR − contraction + expansion) / MRR at t0, over the accounts active at t0;
//!   for a retained account, contraction is what its MRR fell by and expansion what it
//!   rose by between t0 and t1. Equivalently NRR = MRR at t1 of the t0 cohort / MRR at t0.
//!
//! A rate over an empty cohort (no account or no MRR at t0) is `None`, never a division
//! by zero.

use jiff::civil::Date;
use mikawaya_domain::AccountId;
use std::collections::BTreeMap;

pub use mikawaya_domain::subscription::RevenueRow;

/// Churn and retention of one period.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChurnReport {
    /// Accounts active at t0.
    pub accounts_at_start: u64,
    /// Of those, accounts with no active subscription at t1.
    pub churned: u64,
    /// churned / accounts_at_start.
    pub logo_churn_rate: Option<f64>,
    /// MRR at t0 of the accounts active at t0.
    pub mrr_at_start: f64,
    /// MRR at t0 of the churned accounts.
    pub churned_mrr: f64,
    /// Sum over retained accounts of the MRR they lost.
    pub contraction: f64,
    /// Sum over retained accounts of the MRR they gained.
    pub expansion: f64,
    /// MRR at t1 of the accounts active at t0.
    pub mrr_at_end_of_cohort: f64,
    /// churned_mrr / mrr_at_start.
    pub mrr_churn_rate: Option<f64>,
    /// Gross revenue retention.
    pub grr: Option<f64>,
    /// Net revenue retention.
    pub nrr: Option<f64>,
    /// The logo churn rate as a monthly rate by survival ([`Equivalent`]).
    pub logo_churn_monthly: Option<f64>,
    /// The logo churn rate as an annual rate by survival.
    pub logo_churn_annual: Option<f64>,
}

/// MRR of every account active at `day`.
pub fn mrr_by_account(rows: &[RevenueRow], day: Date) -> BTreeMap<AccountId, f64> {
    let mut mrr: BTreeMap<AccountId, f64> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.term.is_active_on(day)) {
        *mrr.entry(row.account).or_default() += row.mrr;
    }
    mrr
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// Churn and retention over `[from, to)`.
pub fn churn(rows: &[RevenueRow], from: Date, to: Date) -> ChurnReport {
    let at_start = mrr_by_account(rows, from);
    let at_end = mrr_by_account(rows, to);
    let mut report = ChurnReport {
        accounts_at_start: at_start.len() as u64,
        churned: 0,
        logo_churn_rate: None,
        mrr_at_start: 0.0,
        churned_mrr: 0.0,
        contraction: 0.0,
        expansion: 0.0,
        mrr_at_end_of_cohort: 0.0,
        mrr_churn_rate: None,
        grr: None,
        nrr: None,
        logo_churn_monthly: None,
        logo_churn_annual: None,
    };
    for (account, start_mrr) in &at_start {
        report.mrr_at_start += start_mrr;
        match at_end.get(account) {
            None => {
                report.churned += 1;
                report.churned_mrr += start_mrr;
            }
            Some(end_mrr) => {
                report.mrr_at_end_of_cohort += end_mrr;
                if end_mrr < start_mrr {
                    report.contraction += start_mrr - end_mrr;
                } else {
                    report.expansion += end_mrr - start_mrr;
                }
            }
        }
    }
    report.logo_churn_rate = ratio(report.churned as f64, report.accounts_at_start as f64);
    report.mrr_churn_rate = ratio(report.churned_mrr, report.mrr_at_start);
    report.grr = ratio(
        report.mrr_at_start - report.churned_mrr - report.contraction,
        report.mrr_at_start,
    );
    report.nrr = ratio(
        report.mrr_at_start - report.churned_mrr - report.contraction + report.expansion,
        report.mrr_at_start,
    );
    let equivalent = Equivalent::of(report.logo_churn_rate, from, to);
    report.logo_churn_monthly = equivalent.monthly;
    report.logo_churn_annual = equivalent.annual;
    report
}

/// The length of `[from, to)` in months: whole calendar months when both days fall on the
/// same day of the month (Jan 1 to Apr 1: 3), else days / (365.25 / 12).
pub fn months_between(from: Date, to: Date) -> f64 {
    if from.day() == to.day() {
        let months = (i32::from(to.year()) - i32::from(from.year())) * 12 + i32::from(to.month())
            - i32::from(from.month());
        return f64::from(months);
    }
    f64::from((to - from).get_days()) / (365.25 / 12.0)
}

/// A period's churn rate as the monthly and annual rates that compound to it, by survival
/// (`shared/domain.md`): monthly = 1 - (1 - rate)^(1 / months), annual = 1 - (1 -
/// monthly)^12.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Equivalent {
    /// The rate over one month.
    pub monthly: Option<f64>,
    /// The rate over one year.
    pub annual: Option<f64>,
}

impl Equivalent {
    /// The equivalents of `rate` measured over `[from, to)` (none for an empty period).
    pub fn of(rate: Option<f64>, from: Date, to: Date) -> Self {
        let months = months_between(from, to);
        let monthly = rate
            .filter(|_| months > 0.0)
            .map(|rate| compound(rate, 1.0 / months));
        Self {
            monthly,
            annual: monthly.map(|monthly| compound(monthly, 12.0)),
        }
    }
}

/// Activity churn over `[from, to)` (`shared/domain.md`): an account is active on a day
/// when it has an event in the `inactive_days` days before it; of the accounts active on
/// `from`, the churned are those not active on `to`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActivityChurn {
    /// N: days without an event after which an account counts as churned.
    pub inactive_days: u32,
    /// Accounts active on t0.
    pub accounts_at_start: u64,
    /// Of those, accounts not active on t1.
    pub churned: u64,
    /// churned / accounts_at_start.
    pub rate: Option<f64>,
    /// The rate as a monthly rate by survival.
    pub monthly: Option<f64>,
    /// The rate as an annual rate by survival.
    pub annual: Option<f64>,
}

/// Activity churn of the accounts with these usage keys over `[from, to)`.
pub fn activity_churn(
    usage: &dyn crate::metrics::UsageSource,
    keys: &[&str],
    from: Date,
    to: Date,
    inactive_days: u32,
) -> ActivityChurn {
    let active_on = |key: &str, day: Date| {
        let window = (
            day.checked_sub(jiff::Span::new().days(i64::from(inactive_days))),
            day.yesterday(),
        );
        match window {
            (Ok(first), Ok(last)) if inactive_days > 0 => usage.count(key, None, first, last) > 0,
            _ => false,
        }
    };
    let cohort: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| active_on(k, from))
        .collect();
    let churned = cohort.iter().filter(|k| !active_on(k, to)).count() as u64;
    let rate = ratio(churned as f64, cohort.len() as f64);
    let equivalent = Equivalent::of(rate, from, to);
    ActivityChurn {
        inactive_days,
        accounts_at_start: cohort.len() as u64,
        churned,
        rate,
        monthly: equivalent.monthly,
        annual: equivalent.annual,
    }
}

/// Churn and retention over `[from, to)` per cohort: `cohort_of` names each account's
/// group (start month, plan, tier, partner, owner, ...); accounts it leaves out are not
/// counted.
pub fn churn_by_cohort(
    rows: &[RevenueRow],
    from: Date,
    to: Date,
    cohort_of: &dyn Fn(AccountId) -> Option<String>,
) -> BTreeMap<String, ChurnReport> {
    let mut groups: BTreeMap<String, Vec<RevenueRow>> = BTreeMap::new();
    for row in rows {
        if let Some(cohort) = cohort_of(row.account) {
            groups.entry(cohort).or_default().push(*row);
        }
    }
    groups
        .into_iter()
        .map(|(cohort, rows)| (cohort, churn(&rows, from, to)))
        .filter(|(_, report)| report.accounts_at_start > 0)
        .collect()
}

/// Converts a churn rate between period lengths by survival: over `periods` periods,
/// `1 - (1 - rate)^periods` (monthly to annual: `periods = 12`).
pub fn compound(rate: f64, periods: f64) -> f64 {
    1.0 - (1.0 - rate).powf(periods)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use mikawaya_domain::subscription::Term;

    fn row(account: i64, mrr: f64, start: Date, end: Option<Date>) -> RevenueRow {
        let term = Term::new(start, end).unwrap_or_else(|e| panic!("{e}"));
        RevenueRow {
            account: AccountId::new(account),
            mrr,
            term,
        }
    }

    /// Five accounts over January 2026 (t0 = Jan 1, t1 = Feb 1), computed by hand:
    /// 1: 100 → 100 (kept); 2: 200 → churned on Jan 20; 3: 300 → 250 (contraction 50);
    /// 4: 400 → 500 (expansion 100, a new row from Jan 15); 5 starts Jan 10 (not in the
    /// cohort); 6 ended Dec 31 (not active at t0: its end is exclusive).
    fn january() -> Vec<RevenueRow> {
        let (jan1, feb1) = (date(2026, 1, 1), date(2026, 2, 1));
        vec![
            row(1, 100.0, date(2025, 6, 1), None),
            row(2, 200.0, date(2025, 3, 1), Some(date(2026, 1, 20))),
            row(
                3,
                300.0,
                date(2025, 1, 1),
                Some(jan1.tomorrow().unwrap_or(jan1)),
            ),
            row(3, 250.0, jan1.tomorrow().unwrap_or(jan1), None),
            row(4, 400.0, date(2025, 9, 1), Some(date(2026, 1, 15))),
            row(4, 500.0, date(2026, 1, 15), Some(date(2027, 1, 15))),
            row(5, 999.0, date(2026, 1, 10), None),
            row(6, 50.0, date(2025, 1, 1), Some(jan1)),
            row(7, 10.0, date(2025, 1, 1), Some(feb1)),
        ]
    }

    #[test]
    fn churn_and_retention_match_the_hand_computation() {
        // Cohort at Jan 1: accounts 1, 2, 3, 4, 7 (7 ends exactly on Feb 1: churned).
        // MRR at t0: 100 + 200 + 300 + 400 + 10 = 1010. Churned: 2 and 7, MRR 210.
        // Contraction 50 (account 3), expansion 100 (account 4).
        let report = churn(&january(), date(2026, 1, 1), date(2026, 2, 1));
        assert_eq!((report.accounts_at_start, report.churned), (5, 2));
        assert_eq!(report.logo_churn_rate, Some(0.4));
        assert_eq!((report.mrr_at_start, report.churned_mrr), (1010.0, 210.0));
        assert_eq!((report.contraction, report.expansion), (50.0, 100.0));
        assert_eq!(report.mrr_churn_rate, Some(210.0 / 1010.0));
        assert_eq!(report.grr, Some((1010.0 - 210.0 - 50.0) / 1010.0));
        assert_eq!(report.nrr, Some((1010.0 - 210.0 - 50.0 + 100.0) / 1010.0));
        // NRR = MRR at t1 of the t0 cohort / MRR at t0: (100 + 250 + 500) / 1010.
        assert_eq!(report.mrr_at_end_of_cohort, 850.0);
        assert_eq!(
            report.nrr,
            Some(report.mrr_at_end_of_cohort / report.mrr_at_start)
        );
    }

    #[test]
    fn cohorts_split_the_same_formulas() {
        // Odd accounts in one cohort, even in the other; account 7 has no cohort.
        let cohort_of = |account: AccountId| match account.get() {
            7 => None,
            n if n % 2 == 1 => Some("odd".to_owned()),
            _ => Some("even".to_owned()),
        };
        let cohorts = churn_by_cohort(&january(), date(2026, 1, 1), date(2026, 2, 1), &cohort_of);
        // odd: 1 (100, kept) and 3 (300 → 250): no churn, GRR (400 - 50) / 400.
        assert_eq!(
            (cohorts["odd"].accounts_at_start, cohorts["odd"].churned),
            (2, 0)
        );
        assert_eq!(cohorts["odd"].grr, Some(350.0 / 400.0));
        // even: 2 (200, churned) and 4 (400 → 500): NRR (600 - 200 + 100) / 600.
        assert_eq!(cohorts["even"].logo_churn_rate, Some(0.5));
        assert_eq!(cohorts["even"].nrr, Some(500.0 / 600.0));
        assert_eq!(
            cohorts.len(),
            2,
            "account 7 and the empty cohorts are left out"
        );
    }

    #[test]
    fn an_empty_cohort_has_no_rates() {
        let report = churn(&january(), date(2020, 1, 1), date(2020, 2, 1));
        assert_eq!(
            (
                report.accounts_at_start,
                report.logo_churn_rate,
                report.grr,
                report.nrr
            ),
            (0, None, None, None)
        );
    }

    #[test]
    fn subscription_boundaries_are_half_open() {
        let rows = vec![row(1, 10.0, date(2026, 1, 1), Some(date(2026, 2, 1)))];
        assert_eq!(
            mrr_by_account(&rows, date(2026, 1, 1)).len(),
            1,
            "active on its first day"
        );
        assert_eq!(
            mrr_by_account(&rows, date(2026, 2, 1)).len(),
            0,
            "not on its end day"
        );
    }

    #[test]
    fn monthly_churn_compounds_to_annual_by_survival() {
        assert!((compound(0.02, 12.0) - (1.0 - 0.98f64.powi(12))).abs() < 1e-12);
        assert!((compound(0.02, 12.0) - 0.215_283_3).abs() < 1e-6);
    }

    /// 10% over Jan 1 to Apr 1 (3 calendar months): monthly 1 - 0.9^(1/3), annual
    /// 1 - 0.9^4 = 0.3439; a period of 30 days is 30 / 30.4375 months.
    #[test]
    fn rates_convert_to_monthly_and_annual_by_survival() {
        assert_eq!(months_between(date(2026, 1, 1), date(2026, 4, 1)), 3.0);
        assert_eq!(months_between(date(2025, 11, 15), date(2026, 2, 15)), 3.0);
        assert!(
            (months_between(date(2026, 1, 1), date(2026, 1, 31)) - 30.0 / 30.4375).abs() < 1e-12
        );
        let equivalent = Equivalent::of(Some(0.10), date(2026, 1, 1), date(2026, 4, 1));
        let monthly = equivalent.monthly.unwrap_or_default();
        assert!((monthly - (1.0 - 0.9f64.powf(1.0 / 3.0))).abs() < 1e-12);
        assert!((equivalent.annual.unwrap_or_default() - 0.3439).abs() < 1e-12);
        assert_eq!(
            Equivalent::of(None, date(2026, 1, 1), date(2026, 4, 1)).annual,
            None
        );
    }
}
