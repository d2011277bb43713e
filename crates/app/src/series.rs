//! Stored metric time series: every defined metric for every account, daily for the recent
//! past and weekly before it, kept current one day at a time and recomputable in full.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::{
    AccountFacts, Metric, MetricSpec, ObservationDates, Subject, UsageSource, WithFacts,
};
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::{AccountId, ReadAccess};
use mikawaya_store::Store;

/// Days of a full computation: daily for the last 30 days, weekly before that back 18
/// months (every Monday-aligned step of 7 days from `today`).
pub fn full_days(today: Date) -> Vec<Date> {
    let daily_from = today
        .checked_sub(jiff::Span::new().days(29))
        .unwrap_or(today);
    let weekly_from = today
        .checked_sub(jiff::Span::new().months(18))
        .unwrap_or(today);
    let mut days = crate::health::days_back(weekly_from, daily_from, 7);
    days.pop();
    days.extend(crate::health::days_back(daily_from, today, 1));
    days
}

/// The defined metrics, checked (those that no longer check are skipped with a warning).
pub fn defined(store: &dyn Store, name: Option<&str>) -> Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    for (stored, spec) in store.list_metrics()? {
        if name.is_some_and(|n| n != stored) {
            continue;
        }
        match serde_json::from_str::<MetricSpec>(&spec)
            .map_err(|e| mikawaya_domain::Invalid::new("spec", e.to_string()))
            .and_then(|spec| Metric::check(&spec))
        {
            Ok(metric) => metrics.push(metric),
            Err(error) => {
                tracing::warn!(metric = %stored, %error, "skipping a stored metric that does not read")
            }
        }
    }
    Ok(metrics)
}

/// The days a metric with no stored history gets: [`full_days`] ending on the last day
/// with usage events when the events end before `today` (a history that ended in the past
/// is not padded with empty weeks), and none before the first; with no events at all,
/// [`full_days`] of `today`.
pub fn history_days(today: Date, span: Option<(Date, Date)>) -> Vec<Date> {
    match span {
        None => full_days(today),
        Some((first, last)) => {
            let mut days: Vec<Date> = full_days(last.min(today))
                .into_iter()
                .filter(|day| *day >= first)
                .collect();
            if days.last() != Some(&today) {
                days.push(today);
            }
            days
        }
    }
}

/// Whether a long computation should go on (false once the server is stopping).
pub type KeepGoing<'a> = &'a dyn Fn() -> bool;

/// Computes and stores `metrics` on each of `days` for every visible account; returns the
/// values written. Each metric is stored whole or not at all: when `keep_going` turns
/// false the computation stops before storing the metric at hand (`Stopped`).
#[allow(clippy::too_many_arguments)]
pub fn compute(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    facts: &AccountFacts,
    metrics: &[Metric],
    days: &[Date],
    keep_going: KeepGoing<'_>,
) -> Result<usize> {
    let accounts: Vec<Subject> = store.all_accounts(read)?.iter().map(Subject::of).collect();
    let source = WithFacts { usage, facts };
    let mut written = 0;
    let observed = ObservationDates::new(days);
    let days = observed.dates();
    for metric in metrics {
        // One pass per account over all the days, then stored day by day.
        let mut by_day: Vec<Vec<(AccountId, Option<f64>)>> =
            vec![Vec::with_capacity(accounts.len()); days.len()];
        for (index, subject) in accounts.iter().enumerate() {
            if index % 256 == 0 && !keep_going() {
                return Err(mikawaya_ingest::IngestError::Stopped.into());
            }
            for (values, value) in by_day
                .iter_mut()
                .zip(metric.series(&source, subject, &observed))
            {
                values.push((subject.id, value));
            }
        }
        for (day, values) in days.iter().zip(by_day) {
            written += values.len();
            store.put_metric_values(access, metric.name().as_str(), *day, &values)?;
        }
    }
    Ok(written)
}

/// Brings every metric up to `today`: the history ([`history_days`], within `span`, the
/// days with usage events) for a metric with none stored, else the days since its last
/// stored day (at most the last 30). Stops between metrics, and within one before storing
/// it, once `keep_going` turns false (`Stopped`); what was stored is whole.
#[allow(clippy::too_many_arguments)]
pub fn update(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    facts: &AccountFacts,
    today: Date,
    span: Option<(Date, Date)>,
    keep_going: KeepGoing<'_>,
) -> Result<usize> {
    let mut written = 0;
    let metrics = defined(store, None)?;
    let count = metrics.len();
    for (index, metric) in metrics.into_iter().enumerate() {
        if !keep_going() {
            return Err(mikawaya_ingest::IngestError::Stopped.into());
        }
        let known = store.metric_days(metric.name().as_str())?;
        let days: Vec<Date> = match known.last() {
            None => {
                let days = history_days(today, span);
                tracing::info!(
                    metric = %metric.name(),
                    step = index + 1,
                    of = count,
                    days = days.len(),
                    from = ?days.first(),
                    "backfilling a metric's series"
                );
                days
            }
            Some(last) if *last >= today => Vec::new(),
            Some(last) => {
                let from = last
                    .checked_add(jiff::Span::new().days(1))
                    .unwrap_or(today)
                    .max(
                        today
                            .checked_sub(jiff::Span::new().days(29))
                            .unwrap_or(today),
                    );
                crate::health::days_back(from, today, 1)
            }
        };
        written += compute(
            store,
            access,
            read,
            usage,
            facts,
            std::slice::from_ref(&metric),
            &days,
            keep_going,
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn full_days_are_weekly_then_daily() {
        let days = full_days(date(2026, 11, 22));
        assert_eq!(days.last(), Some(&date(2026, 11, 22)));
        let daily: Vec<_> = days.iter().filter(|d| **d >= date(2026, 10, 24)).collect();
        assert_eq!(daily.len(), 30, "the last 30 days, each");
        assert!(
            days.windows(2).all(|w| w[0] < w[1]),
            "ascending, no repeats"
        );
        let weekly = &days[..days.len() - 30];
        assert!(weekly.windows(2).all(|w| (w[1] - w[0]).get_days() == 7));
        assert!(weekly.first().is_some_and(|d| *d >= date(2025, 5, 22)));
    }

    #[test]
    fn a_history_that_ended_in_the_past_is_backfilled_over_its_own_span() {
        let today = date(2026, 12, 3);
        let days = history_days(today, Some((date(2020, 1, 1), date(2020, 6, 30))));
        assert_eq!(days.first().map(|d| *d >= date(2020, 1, 1)), Some(true));
        assert_eq!(days.last(), Some(&today));
        let before_today = &days[..days.len() - 1];
        assert!(before_today.iter().all(|d| *d <= date(2020, 6, 30)));
        assert_eq!(before_today.last(), Some(&date(2020, 6, 30)));
        // 30 daily values and weekly ones back to January: not 108 days of empty weeks.
        assert!(days.len() < 60, "{}", days.len());
        assert_eq!(history_days(today, None), full_days(today));
        let live = history_days(today, Some((date(2026, 1, 1), today)));
        assert_eq!(
            live,
            full_days(today)[..]
                .iter()
                .copied()
                .filter(|d| *d >= date(2026, 1, 1))
                .collect::<Vec<_>>()
        );
    }
}
