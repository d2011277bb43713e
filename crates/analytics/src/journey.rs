//! The customer journey's numbers (`shared/domain.md`, *time in stage*): each account's
//! stays in its lifecycle stages from the history of its entries, time in stage per
//! segment from the completed stays that ended in a period, "stuck" accounts (a current
//! stay longer than the 75th percentile of its segment's completed stays), and stage
//! conversion (of the accounts that entered a stage in the period, the share that entered
//! the next stage, not churned, within a window).
//!
//! Percentiles interpolate linearly between the sorted values (the 75th of 10, 20, 30, 40
//! is 32.5), as spreadsheets' `PERCENTILE.INC` and numpy's default do.

use jiff::civil::Date;
use mikawaya_domain::AccountId;
use std::collections::BTreeMap;

/// One account's time in one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    /// The account.
    pub account: AccountId,
    /// Its segment (the touch tier, a plan...) for percentiles.
    pub segment: String,
    /// The stage.
    pub stage: String,
    /// The day it entered.
    pub entered: Date,
    /// The day it entered the next stage (none: still there).
    pub left: Option<Date>,
}

impl Stay {
    /// Days from entering to leaving, or to `today` while still in the stage.
    pub fn days(&self, today: Date) -> i64 {
        i64::from((self.left.unwrap_or(today) - self.entered).get_days())
    }
}

/// Stays from each account's entries, `(day, stage)` in any order: each entry ends the
/// one before it (an entry into the stage it is already in changes nothing).
pub fn stays(account: AccountId, segment: &str, entries: &[(Date, String)]) -> Vec<Stay> {
    let mut sorted: Vec<&(Date, String)> = entries.iter().collect();
    sorted.sort_by_key(|(day, _)| *day);
    let mut out: Vec<Stay> = Vec::new();
    for (day, stage) in sorted {
        if out.last().is_some_and(|last| &last.stage == stage) {
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.left = Some(*day);
        }
        out.push(Stay {
            account,
            segment: segment.to_owned(),
            stage: stage.clone(),
            entered: *day,
            left: None,
        });
    }
    out
}

/// The `q`-th percentile (0-100) of `values`, interpolating linearly; none when empty.
pub fn percentile(values: &[i64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let last = sorted.len().checked_sub(1)?;
    let rank = (q / 100.0).clamp(0.0, 1.0) * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted[low] as f64, sorted[high] as f64);
    Some(a + (b - a) * (rank - rank.floor()))
}

/// Time in one stage for one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    /// Completed stays that ended in the period.
    pub completed: usize,
    /// Their median length, days.
    pub median: Option<f64>,
    /// Their 75th percentile, days.
    pub p75: Option<f64>,
    /// Accounts in the stage now.
    pub current: usize,
    /// Of those, the ones whose stay is longer than `p75`.
    pub stuck: Vec<AccountId>,
}

/// Time in stage per (stage, segment): percentiles of the completed stays that ended in
/// `[from, to)`, and the accounts in each stage on `today`, stuck when their stay is
/// longer than the 75th percentile.
pub fn time_in_stage(
    stays: &[Stay],
    from: Date,
    to: Date,
    today: Date,
) -> BTreeMap<(String, String), StageTime> {
    let mut completed: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    let mut current: BTreeMap<(String, String), Vec<&Stay>> = BTreeMap::new();
    for stay in stays {
        let key = (stay.stage.clone(), stay.segment.clone());
        match stay.left {
            Some(left) if left >= from && left < to => {
                completed.entry(key).or_default().push(stay.days(today));
            }
            None => current.entry(key).or_default().push(stay),
            Some(_) => {}
        }
    }
    let keys: Vec<(String, String)> = completed
        .keys()
        .chain(current.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.into_iter()
        .map(|key| {
            let lengths = completed.get(&key).cloned().unwrap_or_default();
            let p75 = percentile(&lengths, 75.0);
            let now = current.get(&key).cloned().unwrap_or_default();
            let stuck = now
                .iter()
                .filter(|stay| p75.is_some_and(|p| stay.days(today) as f64 > p))
                .map(|stay| stay.account)
                .collect();
            let time = StageTime {
                completed: lengths.len(),
                median: percentile(&lengths, 50.0),
                p75,
                current: now.len(),
                stuck,
            };
            (key, time)
        })
        .collect()
}

/// Conversion out of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// Accounts that entered the stage in the period.
    pub entered: usize,
    /// Of those, the ones that entered the next stage within the window.
    pub converted: usize,
    /// Of those, the ones that churned (entered `churned`) within the window.
    pub churned: usize,
}

impl Conversion {
    /// `converted / entered` (none when nobody entered).
    pub fn rate(&self) -> Option<f64> {
        (self.entered > 0).then(|| self.converted as f64 / self.entered as f64)
    }
}

/// For each stage of `order` but the last: of the accounts that entered it in
/// `[from, to)`, how many entered the next stage of `order` within `window_days` of
/// entering (a churned account does not convert), and how many churned in that window.
pub fn conversion(
    stays: &[Stay],
    order: &[&str],
    churned: &str,
    from: Date,
    to: Date,
    window_days: i64,
) -> BTreeMap<String, Conversion> {
    let mut by_account: BTreeMap<AccountId, Vec<&Stay>> = BTreeMap::new();
    for stay in stays {
        by_account.entry(stay.account).or_default().push(stay);
    }
    let mut out = BTreeMap::new();
    for pair in order.windows(2) {
        let (stage, next) = (pair[0], pair[1]);
        let mut counts = Conversion {
            entered: 0,
            converted: 0,
            churned: 0,
        };
        for history in by_account.values() {
            for stay in history
                .iter()
                .filter(|s| s.stage == stage && s.entered >= from && s.entered < to)
            {
                counts.entered += 1;
                let within = |day: Date| {
                    day >= stay.entered && i64::from((day - stay.entered).get_days()) <= window_days
                };
                let moved = history.iter().any(|s| s.stage == next && within(s.entered));
                let lost = history
                    .iter()
                    .any(|s| s.stage == churned && within(s.entered));
                if moved {
                    counts.converted += 1;
                }
                if lost {
                    counts.churned += 1;
                }
            }
        }
        out.insert(stage.to_owned(), counts);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn entries(list: &[(Date, &str)]) -> Vec<(Date, String)> {
        list.iter().map(|(d, s)| (*d, (*s).to_owned())).collect()
    }

    /// A hand-made book: four high-touch accounts through onboarding (10, 20, 30 and 40
    /// days), one still onboarding after 35 days, one low-touch account.
    fn book() -> Vec<Stay> {
        let start = date(2026, 1, 1);
        let mut all = Vec::new();
        for (id, days) in [(1, 10), (2, 20), (3, 30), (4, 40)] {
            let left = start
                .checked_add(jiff::Span::new().days(days))
                .unwrap_or(start);
            all.extend(stays(
                AccountId::new(id),
                "high",
                &entries(&[(start, "onboarding"), (left, "adoption")]),
            ));
        }
        // Account 4 churns 5 days after reaching adoption; account 1 moves on to value.
        all.extend(stays(
            AccountId::new(5),
            "high",
            &entries(&[(date(2026, 1, 26), "onboarding")]),
        ));
        all.extend(stays(
            AccountId::new(6),
            "low",
            &entries(&[
                (date(2026, 1, 10), "onboarding"),
                (date(2026, 1, 10), "onboarding"),
            ]),
        ));
        all.push(Stay {
            account: AccountId::new(4),
            segment: "high".into(),
            stage: "churned".into(),
            entered: date(2026, 2, 15),
            left: None,
        });
        if let Some(adoption) = all
            .iter_mut()
            .find(|s| s.account == AccountId::new(4) && s.stage == "adoption")
        {
            adoption.left = Some(date(2026, 2, 15));
        }
        all
    }

    #[test]
    fn percentiles_interpolate_between_sorted_values() {
        assert_eq!(percentile(&[40, 10, 30, 20], 75.0), Some(32.5));
        assert_eq!(percentile(&[40, 10, 30, 20], 50.0), Some(25.0));
        assert_eq!(percentile(&[7], 75.0), Some(7.0));
        assert_eq!(percentile(&[], 75.0), None);
    }

    #[test]
    fn time_in_stage_and_stuck_accounts_as_worked_out_by_hand() {
        let today = date(2026, 3, 2); // account 5 has been onboarding 35 days
        let found = time_in_stage(&book(), date(2026, 1, 1), date(2026, 3, 1), today);
        let onboarding = &found[&("onboarding".to_owned(), "high".to_owned())];
        // Completed stays 10, 20, 30, 40: median 25, 75th percentile 32.5.
        assert_eq!(onboarding.completed, 4);
        assert_eq!(
            (onboarding.median, onboarding.p75),
            (Some(25.0), Some(32.5))
        );
        // Account 5's 35 days are above 32.5: stuck.
        assert_eq!(onboarding.current, 1);
        assert_eq!(onboarding.stuck, [AccountId::new(5)]);
        // The low-touch segment has no completed stay: nobody is stuck there.
        let low = &found[&("onboarding".to_owned(), "low".to_owned())];
        assert_eq!((low.completed, low.current, low.stuck.len()), (0, 1, 0));
        // A stay that ended outside the period does not count.
        let later = time_in_stage(&book(), date(2026, 1, 25), date(2026, 3, 1), today);
        let onboarding = &later[&("onboarding".to_owned(), "high".to_owned())];
        assert_eq!(onboarding.completed, 2); // the 30- and 40-day stays
    }

    #[test]
    fn conversion_counts_who_moved_on_within_the_window() {
        let found = conversion(
            &book(),
            &["onboarding", "adoption", "value"],
            "churned",
            date(2026, 1, 1),
            date(2026, 2, 1),
            30,
        );
        // Entered onboarding in January: accounts 1-6. Within 30 days accounts 1, 2 and 3
        // reached adoption (10, 20, 30 days); account 4 took 40.
        let onboarding = &found["onboarding"];
        assert_eq!((onboarding.entered, onboarding.converted), (6, 3));
        assert_eq!(onboarding.rate(), Some(0.5));
        // Entered adoption in January: accounts 1, 2, 3 (11, 21, 31 Jan); none reached value;
        // account 4 entered on 10 February, outside the period.
        let adoption = &found["adoption"];
        assert_eq!(
            (adoption.entered, adoption.converted, adoption.churned),
            (3, 0, 0)
        );
        let with_february = conversion(
            &book(),
            &["onboarding", "adoption", "value"],
            "churned",
            date(2026, 1, 1),
            date(2026, 3, 1),
            30,
        );
        // Account 4 entered adoption on 10 February and churned 5 days later.
        assert_eq!(with_february["adoption"].churned, 1);
        assert_eq!(with_february["adoption"].entered, 4);
    }
}
