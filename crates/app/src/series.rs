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

/// The days a metric with no stored history gets: [`full_days`] of `today`, except that
/// a metric reading usage events keeps to the days the events can reach: none before the
/// first day with events, and, when the events ended in the past, none after the last day
/// plus the metric's window (a history that ended is not padded with empty weeks) but
/// `today`. Metrics of account facts (MRR, tenure…) get the whole [`full_days`].
pub fn history_days(today: Date, span: Option<(Date, Date)>, metric: &Metric) -> Vec<Date> {
    let Some((first, last)) = span.filter(|_| metric.reads_usage()) else {
        return full_days(today);
    };
    let reach = mikawaya_domain::value::add_days(last, i64::from(metric.window_days()))
        .unwrap_or(last)
        .min(today);
    let mut days: Vec<Date> = full_days(reach)
        .into_iter()
        .filter(|day| *day >= first)
        .collect();
    if days.last() != Some(&today) {
        days.push(today);
    }
    days
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
                let days = history_days(today, span, &metric);
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
        let check = |kind: &str| {
            Metric::check(&MetricSpec {
                name: "m".into(),
                kind: kind.into(),
                event: Some("Login".into()),
                ..MetricSpec::default()
            })
        };
        let (Ok(logins), Ok(mrr)) = (check("count"), check("mrr")) else {
            panic!("the specs check");
        };
        let today = date(2026, 12, 3);
        let span = Some((date(2020, 1, 1), date(2020, 6, 30)));
        let days = history_days(today, span, &logins);
        assert_eq!(days.first().map(|d| *d >= date(2020, 1, 1)), Some(true));
        assert_eq!(days.last(), Some(&today));
        let before_today = &days[..days.len() - 1];
        // The window after the last event still counts it: up to Jul 28 (28 days on).
        assert_eq!(before_today.last(), Some(&date(2020, 7, 28)));
        assert!(days.len() < 70, "{}", days.len());
        // Account facts have a history whatever the events do.
        assert_eq!(history_days(today, span, &mrr), full_days(today));
        assert_eq!(history_days(today, None, &logins), full_days(today));
        let live = history_days(today, Some((date(2026, 1, 1), today)), &logins);
        let expected: Vec<Date> = full_days(today)
            .into_iter()
            .filter(|d| *d >= date(2026, 1, 1))
            .collect();
        assert_eq!(live, expected);
    }
}
