//! Every metric kind on a small event history whose answers are computed by hand,
//! including its edge cases: an empty window, a zero denominator, an account younger than
//! the window, and events on a window's boundary.

use super::*;
use jiff::civil::date;
use mikawaya_usage::message::{Received, parse_batch};

/// Account "acme" in UTC. As of 2026-03-01 with a 28-day window, the window is
/// 2026-02-01 00:00 (inclusive) to 2026-03-01 00:00 (exclusive).
/// - Report Run: Jan 31 23:59:59 (just before the window), Feb 1 00:00:00 (first instant
///   in it), Feb 14 (rows 10), Feb 28 23:59:59 (rows 5), Mar 1 00:00:00 (first instant
///   after it).
/// - Login: u1 and u2 in February; u3 only in January.
fn history() -> Rollups {
    history_with(&[])
}

fn history_with(filters: &[EventFilter]) -> Rollups {
    let events = r#"{"batch":[
        {"type":"track","userId":"u3","event":"Login","timestamp":"2026-01-10T09:00:00Z"},
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":100},"timestamp":"2026-01-31T23:59:59Z"},
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":1},"timestamp":"2026-02-01T00:00:00Z"},
        {"type":"track","userId":"u1","event":"Login","timestamp":"2026-02-03T09:00:00Z"},
        {"type":"track","userId":"u2","event":"Report Run","properties":{"rows":10},"timestamp":"2026-02-14T12:00:00Z"},
        {"type":"track","userId":"u2","event":"Login","timestamp":"2026-02-20T09:00:00Z"},
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":5},"timestamp":"2026-02-28T23:59:59Z"},
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":1000},"timestamp":"2026-03-01T00:00:00Z"}
    ],"context":{"groupId":"acme"}}"#;
    let received = Received {
        at_ms: 1_800_000_000_000,
        oldest_ms: None,
        newest_ms: None,
    };
    let mut rollups = Rollups::with_filters(jiff::tz::TimeZone::UTC, filters);
    for (index, event) in parse_batch(events.as_bytes(), 1, received)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .enumerate()
    {
        rollups.apply(
            &event.as_ref(),
            mikawaya_usage::Position::for_tests(index as u64),
        );
    }
    rollups
}

/// An account by its usage key: "acme" is account 1, any other account 2.
fn subject(key: &str, tenure_start: Option<Date>) -> Subject {
    Subject {
        id: account_id(key),
        usage_key: Some(key.to_owned()),
        tenure_start,
    }
}

fn account_id(key: &str) -> AccountId {
    AccountId::new(if key == "acme" { 1 } else { 2 })
}

fn spec(json: serde_json::Value) -> Metric {
    let spec: MetricSpec = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    Metric::check(&spec).unwrap_or_else(|e| panic!("{e}"))
}

fn check(
    metric: serde_json::Value,
    as_of: Date,
    tenure_start: Option<Date>,
    expected: Option<f64>,
) {
    let rollups = history();
    let metric = spec(metric.clone());
    assert_eq!(
        metric.value(&rollups, &subject("acme", tenure_start), as_of),
        expected,
        "{metric:?} as of {as_of}"
    );
}

const MARCH_1: Date = Date::constant(2026, 3, 1);

#[test]
fn count_includes_the_first_instant_of_the_window_and_excludes_the_first_after_it() {
    check(
        serde_json::json!({"name": "reports", "kind": "count", "event": "Report Run"}),
        MARCH_1,
        None,
        Some(3.0),
    );
}

#[test]
fn an_empty_window_counts_zero() {
    check(
        serde_json::json!({"name": "reports", "kind": "count", "event": "Report Run"}),
        date(2025, 6, 1),
        None,
        Some(0.0),
    );
    check(
        serde_json::json!({"name": "x", "kind": "count", "event": "Never Happened"}),
        MARCH_1,
        None,
        Some(0.0),
    );
}

#[test]
fn sum_adds_a_numeric_property_over_the_window() {
    check(
        serde_json::json!({"name": "rows", "kind": "sum", "event": "Report Run", "property": "rows"}),
        MARCH_1,
        None,
        Some(16.0),
    );
}

#[test]
fn distinct_users_counts_each_user_once() {
    // u1 and u2 in February; u3 was active only in January.
    check(
        serde_json::json!({"name": "users", "kind": "distinct_users"}),
        MARCH_1,
        None,
        Some(2.0),
    );
}

#[test]
fn a_ratio_is_missing_when_its_denominator_is_zero() {
    let per_login = serde_json::json!({"name": "reports_per_login", "kind": "ratio",
        "numerator": {"name": "reports", "kind": "count", "event": "Report Run"},
        "denominator": {"name": "logins", "kind": "count", "event": "Login"}});
    check(per_login.clone(), MARCH_1, None, Some(1.5));
    check(per_login, date(2025, 6, 1), None, None);
}

#[test]
fn pct_change_compares_with_the_window_before() {
    // Reports: 3 in Feb 1-28; in the 28 days before (Jan 4-31): 1 → +200%.
    let change = serde_json::json!({"name": "report_change", "kind": "pct_change", "of": {"name": "reports", "kind": "count", "event": "Report Run"}});
    check(change.clone(), MARCH_1, None, Some(200.0));
    // Logins: 2 in Feb; 1 in the window before → +100%. Nothing before Dec → missing.
    let logins = serde_json::json!({"name": "login_change", "kind": "pct_change", "of": {"name": "logins", "kind": "count", "event": "Login"}});
    check(logins, MARCH_1, None, Some(100.0));
    check(change, date(2026, 1, 1), None, None);
}

#[test]
fn days_since_counts_whole_days_to_the_observation_date() {
    // The last event before Mar 1 00:00 is on Feb 28: 1 day.
    check(
        serde_json::json!({"name": "idle", "kind": "days_since"}),
        MARCH_1,
        None,
        Some(1.0),
    );
    // The last login before Mar 1 is on Feb 20: 9 days.
    check(
        serde_json::json!({"name": "idle_login", "kind": "days_since", "event": "Login"}),
        MARCH_1,
        None,
        Some(9.0),
    );
    check(
        serde_json::json!({"name": "idle", "kind": "days_since"}),
        date(2025, 1, 1),
        None,
        None,
    );
}

#[test]
fn per_month_scales_young_accounts_by_their_tenure() {
    let per_month =
        serde_json::json!({"name": "reports_pm", "kind": "per_month", "event": "Report Run"});
    // A full window: 3 reports in 28 days → 3 × 30 / 28.
    check(
        per_month.clone(),
        MARCH_1,
        Some(date(2025, 1, 1)),
        Some(3.0 * 30.0 / 28.0),
    );
    // Started Feb 14: tenure 15 days (Feb 14-28), 2 reports in them → 2 × 30 / 15 = 4.
    check(
        per_month.clone(),
        MARCH_1,
        Some(date(2026, 2, 14)),
        Some(4.0),
    );
    // Started on the observation date: no tenure, no rate.
    check(per_month, MARCH_1, Some(MARCH_1), None);
    // Any event ("*"): 3 reports and 2 logins in February → 5 × 30 / 28.
    check(
        serde_json::json!({"name": "any_pm", "kind": "per_month", "event": "*"}),
        MARCH_1,
        None,
        Some(5.0 * 30.0 / 28.0),
    );
}

#[test]
fn per_period_scales_a_longer_window_to_any_period() {
    // A 28-day average observed over 56 days before Mar 1 (Jan 4 - Feb 28): 4 reports
    // (Jan 31, Feb 1, Feb 14, Feb 28) → 4 × 28 / 56 = 2; their rows 100 + 1 + 10 + 5 = 116
    // → 58.
    let average = serde_json::json!({"name": "avg", "kind": "per_period", "event": "Report Run",
        "window_days": 56, "period_days": 28});
    check(average.clone(), MARCH_1, Some(date(2025, 1, 1)), Some(2.0));
    let mut rows = average.clone();
    rows["property"] = serde_json::json!("rows");
    check(rows, MARCH_1, None, Some(58.0));
    // Started Feb 14: 15 days, 2 reports → 2 × 28 / 15.
    check(
        average.clone(),
        MARCH_1,
        Some(date(2026, 2, 14)),
        Some(2.0 * 28.0 / 15.0),
    );
    // A minimum tenure of 20 days: 15 days is too young; 20 (from Feb 9) is enough, with
    // 2 reports in them → 2 × 28 / 20 = 2.8.
    let mut strict = average;
    strict["min_tenure_days"] = serde_json::json!(20);
    check(strict.clone(), MARCH_1, Some(date(2026, 2, 14)), None);
    check(strict, MARCH_1, Some(date(2026, 2, 9)), Some(2.8));
}

#[test]
fn days_since_through_the_observation_day_counts_that_day() {
    let plain = serde_json::json!({"name": "ds", "kind": "days_since", "event": "Report Run"});
    let mut through = plain.clone();
    through["through_observation_day"] = serde_json::json!(true);
    // A report at Feb 28 23:59:59: as of Feb 28 the day before counts (Feb 14, 14 days) by
    // default, Feb 28 itself (0) through the day.
    check(plain.clone(), date(2026, 2, 28), None, Some(14.0));
    check(through.clone(), date(2026, 2, 28), None, Some(0.0));
    // As of Mar 1 (a report at 00:00 that day): 1 by default, 0 through the day.
    check(plain, MARCH_1, None, Some(1.0));
    check(through.clone(), MARCH_1, None, Some(0.0));
    // As of Feb 27: the last report through Feb 27 was Feb 14 → 13.
    check(through, date(2026, 2, 27), None, Some(13.0));
}

#[test]
fn tenure_starts_at_the_first_subscription_and_else_at_the_contract() {
    use mikawaya_domain::subscription::Term;
    let rollups = history();
    let term = |start| Term::new(start, None).unwrap_or_else(|e| panic!("{e}"));
    // Billing from Feb 14 (and a later row from Feb 20); the contract field says Jan 1.
    let facts = AccountFacts::new(
        [
            (account_id("acme"), 10.0, 1.0, term(date(2026, 2, 20))),
            (account_id("acme"), 10.0, 1.0, term(date(2026, 2, 14))),
        ],
        [],
    );
    let billed = WithFacts {
        usage: &rollups,
        facts: &facts,
    };
    let contract = subject("acme", Some(date(2026, 1, 1)));
    let tenure = spec(serde_json::json!({"name": "t", "kind": "tenure_days"}));
    assert_eq!(tenure.value(&billed, &contract, MARCH_1), Some(15.0));
    // Without billing data, the contract start: Jan 1 → 59 days.
    assert_eq!(tenure.value(&rollups, &contract, MARCH_1), Some(59.0));
    // A young account's per-month rate uses the same first day: 2 reports in 15 days → 4.
    let per_month =
        spec(serde_json::json!({"name": "pm", "kind": "per_month", "event": "Report Run"}));
    assert_eq!(per_month.value(&billed, &contract, MARCH_1), Some(4.0));
    assert_eq!(
        per_month.series(&billed, &contract, &ObservationDates::new(&[MARCH_1])),
        vec![Some(4.0)]
    );
}

#[test]
fn specs_are_checked_and_name_their_field() {
    let cases = [
        (serde_json::json!({"name": "x", "kind": "count"}), "event"),
        (
            serde_json::json!({"name": "x", "kind": "sum", "event": "E"}),
            "property",
        ),
        (
            serde_json::json!({"name": "x", "kind": "median", "event": "E"}),
            "kind",
        ),
        (
            serde_json::json!({"name": "x", "kind": "count", "event": "E", "window_days": 0}),
            "window_days",
        ),
        (
            serde_json::json!({"name": "9x", "kind": "distinct_users"}),
            "name",
        ),
        (
            serde_json::json!({"name": "x", "kind": "ratio", "numerator": {"name": "a", "kind": "distinct_users"}}),
            "denominator",
        ),
        (
            serde_json::json!({"name": "x", "kind": "pct_change", "of": {"name": "a", "kind": "count"}}),
            "of.event",
        ),
        (
            serde_json::json!({"name": "x", "kind": "per_period", "event": "E"}),
            "period_days",
        ),
        (
            serde_json::json!({"name": "x", "kind": "per_period", "event": "E", "period_days": 400}),
            "period_days",
        ),
        (
            serde_json::json!({"name": "x", "kind": "count", "event": "E", "period_days": 7}),
            "period_days",
        ),
        (
            serde_json::json!({"name": "x", "kind": "count", "event": "E", "min_tenure_days": 7}),
            "min_tenure_days",
        ),
        (
            serde_json::json!({"name": "x", "kind": "per_month", "event": "E", "min_tenure_days": 0}),
            "min_tenure_days",
        ),
        (
            serde_json::json!({"name": "x", "kind": "count", "event": "E", "through_observation_day": true}),
            "through_observation_day",
        ),
        (
            serde_json::json!({"name": "x", "kind": "count", "event": "E", "property": "rows"}),
            "property",
        ),
    ];
    for (json, field) in cases {
        let spec: MetricSpec =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}"));
        match Metric::check(&spec) {
            Err(error) => assert_eq!(error.field, field, "{json}"),
            Ok(metric) => panic!("{json} was accepted as {metric:?}"),
        }
    }
}

/// Account facts for "acme": a row of 100 MRR / 5 seats from Jan 1 to Feb 15 (exclusive),
/// a row of 50 MRR / 2 seats from Feb 1 on; touchpoints on Feb 10 and Feb 20.
fn facts() -> AccountFacts {
    use mikawaya_domain::subscription::Term;
    let term = |start, end| Term::new(start, end).unwrap_or_else(|e| panic!("{e}"));
    AccountFacts::new(
        [
            (
                account_id("acme"),
                100.0,
                5.0,
                term(date(2026, 1, 1), Some(date(2026, 2, 15))),
            ),
            (account_id("acme"), 50.0, 2.0, term(date(2026, 2, 1), None)),
        ],
        [
            (account_id("acme"), date(2026, 2, 20)),
            (account_id("acme"), date(2026, 2, 10)),
        ],
    )
}

#[test]
fn account_facts_are_metrics_too() {
    let rollups = history();
    let facts = facts();
    let source = WithFacts {
        usage: &rollups,
        facts: &facts,
    };
    let value = |kind: &str, day: Date| {
        spec(serde_json::json!({"name": "m", "kind": kind})).value(
            &source,
            &subject("acme", Some(date(2026, 1, 1))),
            day,
        )
    };
    // Feb 5: both rows active → 150 MRR, 7 seats; Mar 1: only the second → 50, 2.
    assert_eq!(value("mrr", date(2026, 2, 5)), Some(150.0));
    assert_eq!(value("seats", date(2026, 2, 5)), Some(7.0));
    assert_eq!(value("mrr", date(2026, 3, 1)), Some(50.0));
    assert_eq!(value("seats", date(2026, 3, 1)), Some(2.0));
    // Before any row: 0, not -0 (which a table would print as "-0").
    let before = value("mrr", date(2025, 12, 1));
    assert_eq!(before, Some(0.0));
    assert!(before.is_some_and(f64::is_sign_positive), "{before:?}");
    // The first row ends on Feb 15 (half-open): on Feb 15 only the second is active.
    assert_eq!(value("mrr", date(2026, 2, 15)), Some(50.0));
    // Last touch before Mar 1 is Feb 20 → 9 days; on Feb 10 there was none before.
    assert_eq!(value("days_since_touch", date(2026, 3, 1)), Some(9.0));
    assert_eq!(value("days_since_touch", date(2026, 2, 10)), None);
    assert_eq!(value("days_since_touch", date(2026, 2, 11)), Some(1.0));
    assert_eq!(value("tenure_days", date(2026, 3, 1)), Some(59.0));
    // Another account: no rows (0 MRR), no touches (missing).
    let other = spec(serde_json::json!({"name": "m", "kind": "mrr"}));
    assert_eq!(
        other.value(&source, &subject("other", None), date(2026, 3, 1)),
        Some(0.0)
    );
    // Usage alone knows no account facts.
    assert_eq!(
        other.value(&rollups, &subject("acme", None), date(2026, 3, 1)),
        None
    );
    // A ratio of usage to a fact: logins per seat in the window before Mar 1 (2 logins, 2 seats).
    let per_seat = spec(
        serde_json::json!({"name": "logins-per-seat", "kind": "ratio",
        "numerator": {"name": "logins", "kind": "count", "event": "Login"},
        "denominator": {"name": "seats", "kind": "seats"}}),
    );
    assert_eq!(
        per_seat.value(&source, &subject("acme", None), date(2026, 3, 1)),
        Some(1.0)
    );
}

#[test]
fn surveys_and_pulses_are_read_within_the_window() {
    use mikawaya_domain::work::SurveyKind;
    let rollups = history();
    let facts = AccountFacts::new([], [])
        .with_surveys([
            (account_id("acme"), date(2026, 1, 20), SurveyKind::Nps, 9.0),
            (account_id("acme"), date(2026, 2, 10), SurveyKind::Nps, 4.0),
            (account_id("acme"), date(2026, 2, 12), SurveyKind::Csat, 5.0),
        ])
        .with_pulses([(account_id("acme"), date(2026, 2, 27), 35.0)]);
    let source = WithFacts {
        usage: &rollups,
        facts: &facts,
    };
    let value = |kind: &str, day: Date| {
        spec(serde_json::json!({"name": "m", "kind": kind, "window_days": 28})).value(
            &source,
            &subject("acme", None),
            day,
        )
    };
    // As of Mar 1 the window is Feb 1-28: the latest NPS is Feb 10's 4 (Jan 20's 9 is out).
    assert_eq!(value("nps", date(2026, 3, 1)), Some(4.0));
    assert_eq!(value("csat", date(2026, 3, 1)), Some(5.0));
    assert_eq!(value("ces", date(2026, 3, 1)), None);
    // As of Feb 10 the answer of that day is not yet in the window: Jan 20's 9 is.
    assert_eq!(value("nps", date(2026, 2, 10)), Some(9.0));
    assert_eq!(value("pulse", date(2026, 3, 1)), Some(35.0));
    // Mar 27's window starts on Feb 27 (in); Mar 28's on Feb 28 (out).
    assert_eq!(value("pulse", date(2026, 3, 27)), Some(35.0));
    assert_eq!(value("pulse", date(2026, 3, 28)), None);
}

/// Filtered metrics over the same history: the rollups keep the filter the spec names.
fn filtered(json: serde_json::Value, expected: Option<f64>) {
    let filters = EventFilter::in_metric_spec(&json);
    assert!(!filters.is_empty(), "{json}");
    let rollups = history_with(&filters);
    let metric = spec(json.clone());
    assert_eq!(
        metric.value(&rollups, &subject("acme", None), MARCH_1),
        expected,
        "{json}"
    );
}

#[test]
fn property_conditions_count_only_matching_events() {
    // In the window: rows 1 (Feb 1), 10 (Feb 14), 5 (Feb 28); 100 and 1000 fall outside.
    let rows =
        |op: &str, value: i64| serde_json::json!([{"property": "rows", "op": op, "value": value}]);
    filtered(
        serde_json::json!({"name": "big", "kind": "count", "event": "Report Run", "where": rows("gte", 5)}),
        Some(2.0),
    );
    filtered(
        serde_json::json!({"name": "big-rows", "kind": "sum", "event": "Report Run", "property": "rows", "where": rows("gte", 5)}),
        Some(15.0),
    );
    filtered(
        serde_json::json!({"name": "small", "kind": "count", "event": "Report Run", "where": rows("lt", 5)}),
        Some(1.0),
    );
    // The last report with 10 rows or more was on Feb 14: 15 days before March 1.
    filtered(
        serde_json::json!({"name": "since-big", "kind": "days_since", "event": "Report Run", "where": rows("gte", 10)}),
        Some(15.0),
    );
    // Logins carry no `rows`: "not equal" holds for a missing property, "equal" does not.
    filtered(
        serde_json::json!({"name": "logins-ne", "kind": "count", "event": "Login", "where": rows("ne", 1)}),
        Some(2.0),
    );
    filtered(
        serde_json::json!({"name": "logins-eq", "kind": "count", "event": "Login", "where": rows("eq", 1)}),
        Some(0.0),
    );
    // 28 days of an account 14 days old: 1 matching event (Feb 28) × 30 / 14.
    let per_month = spec(
        serde_json::json!({"name": "pm", "kind": "per_month", "event": "Report Run", "where": rows("eq", 5)}),
    );
    let rollups = history_with(&EventFilter::in_metric_spec(
        &serde_json::json!({"event": "Report Run", "where": rows("eq", 5)}),
    ));
    assert_eq!(
        per_month.value(&rollups, &subject("acme", Some(date(2026, 2, 15))), MARCH_1),
        Some(30.0 / 14.0)
    );
}

#[test]
fn property_conditions_are_checked() {
    let invalid = |json: serde_json::Value| {
        let spec: MetricSpec = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        Metric::check(&spec).map(|_| ()).map_err(|e| e.field)
    };
    let cond = serde_json::json!([{"property": "rows", "op": "gt", "value": "many"}]);
    assert_eq!(
        invalid(serde_json::json!({"name": "m", "kind": "count", "event": "E", "where": cond})),
        Err("where.value".to_owned())
    );
    let cond = serde_json::json!([{"property": "rows", "op": "eq", "value": 1}]);
    assert_eq!(
        invalid(serde_json::json!({"name": "m", "kind": "distinct_users", "where": cond})),
        Err("where".to_owned())
    );
    assert_eq!(
        invalid(serde_json::json!({"name": "m", "kind": "count", "event": "*", "where": cond})),
        Err("event".to_owned())
    );
    assert_eq!(
        invalid(serde_json::json!({"name": "m", "kind": "days_since", "where": cond})),
        Err("event".to_owned())
    );
}

/// A usage source that answers only the required questions.
struct TotalsOnly<'a>(&'a Rollups);

impl UsageSource for TotalsOnly<'_> {
    fn count(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> u64 {
        UsageSource::count(self.0, account, event, from, to)
    }
    fn sum(&self, account: &str, event: &str, property: &str, from: Date, to: Date) -> f64 {
        UsageSource::sum(self.0, account, event, property, from, to)
    }
    fn distinct_users(&self, account: &str, from: Date, to: Date) -> u64 {
        UsageSource::distinct_users(self.0, account, from, to)
    }
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date> {
        UsageSource::last_event_day(self.0, account, event, before)
    }
}

/// Every kind over a run of dates: the one-pass series equals the value date by date.
#[test]
fn series_equal_values_date_by_date() {
    let rows = serde_json::json!([{"property": "rows", "op": "gte", "value": 5}]);
    let specs = [
        serde_json::json!({"name": "a", "kind": "count", "event": "Report Run"}),
        serde_json::json!({"name": "b", "kind": "count", "event": "*", "window_days": 7}),
        serde_json::json!({"name": "c", "kind": "sum", "event": "Report Run", "property": "rows"}),
        serde_json::json!({"name": "d", "kind": "distinct_users", "window_days": 14}),
        serde_json::json!({"name": "e", "kind": "days_since"}),
        serde_json::json!({"name": "f", "kind": "days_since", "event": "Login"}),
        serde_json::json!({"name": "g", "kind": "per_month", "event": "Report Run", "window_days": 10}),
        serde_json::json!({"name": "h", "kind": "count", "event": "Report Run", "where": rows}),
        serde_json::json!({"name": "i", "kind": "ratio",
            "numerator": {"name": "n", "kind": "count", "event": "Report Run"},
            "denominator": {"name": "m", "kind": "count", "event": "Login", "window_days": 10}}),
        serde_json::json!({"name": "j", "kind": "pct_change",
            "of": {"name": "n", "kind": "count", "event": "*", "window_days": 7}}),
        serde_json::json!({"name": "k", "kind": "per_period", "event": "Report Run",
            "property": "rows", "window_days": 21, "period_days": 7, "min_tenure_days": 5}),
        serde_json::json!({"name": "l", "kind": "days_since", "event": "Login",
            "through_observation_day": true}),
        serde_json::json!({"name": "m", "kind": "per_month", "event": "*", "window_days": 14}),
    ];
    let filters: Vec<EventFilter> = specs.iter().flat_map(EventFilter::in_metric_spec).collect();
    let rollups = history_with(&filters);
    let daily: Vec<Date> = (0..80)
        .filter_map(|n| date(2026, 1, 1).checked_add(jiff::Span::new().days(n)).ok())
        .collect();
    let weekly: Vec<Date> = daily.iter().step_by(7).copied().collect();
    for json in specs {
        let metric = spec(json.clone());
        for tenure in [None, Some(date(2026, 2, 10))] {
            for dates in [&daily, &weekly] {
                let one_by_one: Vec<Option<f64>> = dates
                    .iter()
                    .map(|d| metric.value(&rollups, &subject("acme", tenure), *d))
                    .collect();
                assert_eq!(
                    metric.series(
                        &rollups,
                        &subject("acme", tenure),
                        &ObservationDates::new(dates)
                    ),
                    one_by_one,
                    "{json}"
                );
                assert!(
                    one_by_one.iter().any(|v| v.is_some_and(|v| v != 0.0)),
                    "{json}: all empty"
                );
                // A source that only answers totals (the trait's defaults for daily
                // totals and event days) gives the same series.
                assert_eq!(
                    metric.series(
                        &TotalsOnly(&rollups),
                        &subject("acme", tenure),
                        &ObservationDates::new(dates)
                    ),
                    one_by_one,
                    "{json} through the defaults"
                );
            }
        }
    }
}

#[test]
fn day_numbers_count_days_since_1970() {
    let epoch = date(1970, 1, 1);
    for day in [
        epoch,
        date(1969, 12, 31),
        date(2000, 2, 29),
        date(2026, 3, 1),
        date(2100, 3, 1),
        date(1600, 1, 1),
    ] {
        assert_eq!(
            day_number(day),
            i64::from((day - epoch).get_days()),
            "{day}"
        );
        assert_eq!(number_date(day_number(day)), Some(day));
    }
}

#[test]
fn an_account_without_a_usage_key_has_no_usage_but_keeps_its_facts() {
    let rollups = history();
    let facts = facts();
    let source = WithFacts {
        usage: &rollups,
        facts: &facts,
    };
    let keyless = Subject {
        id: account_id("acme"),
        usage_key: None,
        tenure_start: Some(date(2026, 1, 1)),
    };
    let value = |json: serde_json::Value| spec(json).value(&source, &keyless, MARCH_1);
    assert_eq!(
        value(serde_json::json!({"name": "m", "kind": "count", "event": "Login"})),
        Some(0.0)
    );
    assert_eq!(
        value(serde_json::json!({"name": "m", "kind": "days_since"})),
        None
    );
    assert_eq!(
        value(serde_json::json!({"name": "m", "kind": "mrr"})),
        Some(50.0)
    );
    let dates = ObservationDates::new(&[date(2026, 2, 5), MARCH_1]);
    assert_eq!(
        spec(serde_json::json!({"name": "m", "kind": "distinct_users"}))
            .series(&source, &keyless, &dates),
        vec![Some(0.0), Some(0.0)]
    );
}
