//! Does a playbook work? Outcome rates of runs against the held-out control group (and
//! version against version), with the difference and its 95% confidence interval
//! (normal approximation: `d ± 1.96 √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`).
//!
//! Only firings whose outcome is already known count (`fired_on + days <= as_of`);
//! cancelled runs are left out.

use crate::facts::Facts;
use crate::spec::{Outcome, Playbook};
use jiff::civil::Date;
use mikawaya_domain::work::RunStatus;
use mikawaya_store::work::Run;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One group's outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Firings whose outcome is known.
    pub n: usize,
    /// Of those, successes.
    pub successes: usize,
    /// successes / n (none when n is 0).
    pub rate: Option<f64>,
}

impl Arm {
    fn new(n: usize, successes: usize) -> Arm {
        Arm {
            n,
            successes,
            rate: (n > 0).then(|| successes as f64 / n as f64),
        }
    }
}

/// Group `a` against group `b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What `a` is.
    pub a_label: String,
    /// What `b` is.
    pub b_label: String,
    /// Group a.
    pub a: Arm,
    /// Group b.
    pub b: Arm,
    /// rate(a) − rate(b).
    pub difference: Option<f64>,
    /// 95% confidence interval of the difference.
    pub ci95: Option<(f64, f64)>,
}

/// Compares two arms.
pub fn compare(a_label: &str, a: Arm, b_label: &str, b: Arm) -> Comparison {
    let (difference, ci95) = match (a.rate, b.rate) {
        (Some(p1), Some(p2)) => {
            let se = (p1 * (1.0 - p1) / a.n as f64 + p2 * (1.0 - p2) / b.n as f64).sqrt();
            let d = p1 - p2;
            (Some(d), Some((d - 1.96 * se, d + 1.96 * se)))
        }
        _ => (None, None),
    };
    Comparison {
        a_label: a_label.to_owned(),
        b_label: b_label.to_owned(),
        a,
        b,
        difference,
        ci95,
    }
}

/// The effectiveness report of one playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effectiveness {
    /// Playbook.
    pub playbook: String,
    /// What counts as success.
    pub outcome: Outcome,
    /// The day outcomes are read on.
    pub as_of: Date,
    /// Firings whose outcome is not known yet.
    pub pending: usize,
    /// Runs against holdout.
    pub runs_vs_holdout: Comparison,
    /// Each version's runs.
    pub versions: BTreeMap<i64, Arm>,
    /// The latest version's runs against the one before.
    pub latest_vs_previous: Option<Comparison>,
    /// Runs against holdout among the accounts of each touch tier (`none`: no tier), the
    /// segment a next best action is measured on.
    pub by_segment: BTreeMap<String, Comparison>,
}

/// Whether a firing's outcome was a success, or none when not known yet.
pub fn succeeded(outcome: &Outcome, run: &Run, facts: &Facts<'_>, as_of: Date) -> Option<bool> {
    let account = facts.accounts.iter().find(|a| a.id == run.account_id)?;
    succeeded_on(outcome, run, account, facts, as_of)
}

/// [`succeeded`] for the run's account, already found.
fn succeeded_on(
    outcome: &Outcome,
    run: &Run,
    account: &mikawaya_domain::account::Account,
    facts: &Facts<'_>,
    as_of: Date,
) -> Option<bool> {
    let end = run
        .fired_on
        .checked_add(jiff::Span::new().days(i64::from(outcome.days())))
        .ok()?;
    if end > as_of {
        return None;
    }
    match outcome {
        Outcome::Retained { .. } => Some(facts.active_on(run.account_id, end)),
        Outcome::EventHappened { event, .. } => {
            let usage = facts.usage?;
            let key = account.external_id.as_ref()?;
            let last = end.yesterday().ok()?;
            Some(usage.count(key.as_str(), Some(event), run.fired_on, last) > 0)
        }
        Outcome::HealthRecovered { threshold, .. } => {
            Some(facts.health(account, end).is_some_and(|s| s >= *threshold))
        }
    }
}

/// The report for one playbook over its recorded firings.
pub fn report(
    playbook: &Playbook,
    runs: &[Run],
    facts: &Facts<'_>,
    as_of: Date,
) -> Option<Effectiveness> {
    let outcome = playbook.spec().outcome.clone()?;
    let mut pending = 0;
    let (mut treated, mut control) = ((0, 0), (0, 0));
    let mut versions: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    // Per segment: (treated n, successes, control n, successes).
    let mut segments: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let accounts: std::collections::HashMap<
        mikawaya_domain::AccountId,
        &mikawaya_domain::account::Account,
    > = facts.accounts.iter().map(|a| (a.id, a)).collect();
    for run in runs
        .iter()
        .filter(|r| r.playbook == playbook.name().as_str())
    {
        if run.status == RunStatus::Cancelled {
            continue;
        }
        let account = accounts.get(&run.account_id).copied();
        let Some(success) =
            account.and_then(|account| succeeded_on(&outcome, run, account, facts, as_of))
        else {
            pending += 1;
            continue;
        };
        let segment = account
            .and_then(|a| a.tier)
            .map_or("none", |t| t.as_str())
            .to_owned();
        let counts = segments.entry(segment).or_default();
        let offset = if run.status == RunStatus::HeldOut {
            2
        } else {
            0
        };
        counts[offset] += 1;
        counts[offset + 1] += usize::from(success);
        let arm = if run.status == RunStatus::HeldOut {
            &mut control
        } else {
            let version = versions.entry(run.version).or_default();
            version.0 += 1;
            version.1 += usize::from(success);
            &mut treated
        };
        arm.0 += 1;
        arm.1 += usize::from(success);
    }
    let versions: BTreeMap<i64, Arm> = versions
        .into_iter()
        .map(|(version, (n, s))| (version, Arm::new(n, s)))
        .collect();
    let latest_vs_previous = {
        let mut last_two = versions.iter().rev().take(2);
        match (last_two.next(), last_two.next()) {
            (Some((latest, a)), Some((previous, b))) => Some(compare(
                &format!("v{latest}"),
                *a,
                &format!("v{previous}"),
                *b,
            )),
            _ => None,
        }
    };
    Some(Effectiveness {
        playbook: playbook.name().to_string(),
        outcome,
        as_of,
        pending,
        runs_vs_holdout: compare(
            "runs",
            Arm::new(treated.0, treated.1),
            "holdout",
            Arm::new(control.0, control.1),
        ),
        versions,
        latest_vs_previous,
        by_segment: segments
            .into_iter()
            .map(|(segment, [n, s, cn, cs])| {
                (
                    segment,
                    compare("runs", Arm::new(n, s), "holdout", Arm::new(cn, cs)),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difference_and_interval_by_hand() {
        // Runs: 40 of 50 retained (0.8); holdout: 6 of 10 (0.6).
        // se = √(0.8·0.2/50 + 0.6·0.4/10) = √(0.0032 + 0.024) = √0.0272 = 0.164924...
        let c = compare("runs", Arm::new(50, 40), "holdout", Arm::new(10, 6));
        let d = c.difference.unwrap_or_default();
        let (low, high) = c.ci95.unwrap_or_default();
        assert!((d - 0.2).abs() < 1e-12);
        assert!((low - (0.2 - 1.96 * 0.0272f64.sqrt())).abs() < 1e-12);
        assert!((high - 0.523251).abs() < 1e-6, "{high}");
        assert!((low + 0.123251).abs() < 1e-6, "{low}");
        let empty = compare("runs", Arm::new(3, 1), "holdout", Arm::new(0, 0));
        assert_eq!(empty.difference, None);
        assert_eq!(empty.b.rate, None);
    }
}
