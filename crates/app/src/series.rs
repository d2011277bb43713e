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

/// Computes and stores `metrics` on each of `days` for every visible account; returns the
/// values written.
pub fn compute(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    facts: &AccountFacts,
    metrics: &[Metric],
    days: &[Date],
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
        for subject in &accounts {
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

/// Brings every metric up to `today`: the full history for a metric with none stored,
/// else the days since its last stored day (at most the last 30).
pub fn update(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    facts: &AccountFacts,
    today: Date,
) -> Result<usize> {
    let mut written = 0;
    for metric in defined(store, None)? {
        let known = store.metric_days(metric.name().as_str())?;
        let days: Vec<Date> = match known.last() {
            None => full_days(today),
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
}
