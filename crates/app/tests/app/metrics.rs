//! Metric definitions deleted and renamed with their stored series, and refused while
//! something in force names them.

use crate::{TestResult, World, date};
use mikawaya_domain::Actor;
use mikawaya_domain::config::ConfigKind;
use mikawaya_store::{Store, StoreError};

#[test]
fn a_metric_is_renamed_and_deleted_with_its_series_unless_in_use() -> TestResult {
    let world = World::new()?;
    let manage = Actor::system().manage()?;
    let account = world.account("M-1", |_| {})?;
    let spec = r#"{"name":"exports_28d","kind":"count","event":"Export"}"#;
    world.store.put_metric(&manage, "exports_28d", spec)?;
    world.store.put_metric(
        &manage,
        "logins",
        r#"{"name":"logins","kind":"count","event":"Login"}"#,
    )?;
    for day in [date(2026, 3, 1), date(2026, 3, 8)] {
        world
            .store
            .put_metric_values(&manage, "exports_28d", day, &[(account, Some(4.0))])?;
    }

    // A plan template names it: refused, nothing changed.
    let templates = serde_json::json!([{"name": "onboarding", "objectives": [{"title": "Exports", "metric": "exports_28d"}]}]);
    world
        .store
        .put_config(&manage, ConfigKind::PlanTemplates, &templates.to_string())?;
    let refused = mikawaya_app::metrics::delete(&world.store, &manage, "exports_28d");
    let reason = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(reason.contains("plan templates v1"), "{reason}");
    assert!(
        mikawaya_app::metrics::rename(&world.store, &manage, "exports_28d", "exports").is_err()
    );
    assert_eq!(world.store.metric_days("exports_28d")?.len(), 2);

    // Free again: renamed with its values, its spec's name with it.
    world
        .store
        .put_config(&manage, ConfigKind::PlanTemplates, "[]")?;
    let taken = mikawaya_app::metrics::rename(&world.store, &manage, "exports_28d", "logins");
    assert!(
        matches!(
            taken,
            Err(mikawaya_app::AppError::Store(StoreError::Conflict { .. }))
        ),
        "{taken:?}"
    );
    let bad = mikawaya_app::metrics::rename(&world.store, &manage, "exports_28d", "Exports!");
    assert!(
        matches!(bad, Err(mikawaya_app::AppError::Invalid(ref e)) if e.field == "to"),
        "{bad:?}"
    );
    mikawaya_app::metrics::rename(&world.store, &manage, "exports_28d", "exports")?;
    assert_eq!(world.store.metric_days("exports")?.len(), 2);
    assert!(world.store.metric_days("exports_28d")?.is_empty());
    let renamed: serde_json::Value = serde_json::from_str(&world.store.get_metric("exports")?)?;
    assert_eq!(renamed["name"], "exports");
    assert!(matches!(
        world.store.get_metric("exports_28d"),
        Err(StoreError::NotFound { .. })
    ));

    // Deleted with its values; the other metric untouched; an unknown one is not found.
    mikawaya_app::metrics::delete(&world.store, &manage, "exports")?;
    assert!(world.store.metric_days("exports")?.is_empty());
    let names: Vec<String> = world
        .store
        .list_metrics()?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["logins"]);
    assert!(matches!(
        mikawaya_app::metrics::delete(&world.store, &manage, "exports"),
        Err(mikawaya_app::AppError::Store(StoreError::NotFound { .. }))
    ));
    Ok(())
}

/// A backfill asked to stop stores nothing half-done, and leaves the metric to the next
/// start; a run that goes on covers the events' span only.
#[test]
fn a_backfill_covers_the_events_span_and_stops_when_asked() -> TestResult {
    let world = World::new()?;
    let manage = Actor::system().manage()?;
    let read = Actor::system().read();
    world.account("OLD-1", |_| {})?;
    world.store.put_metric(
        &manage,
        "logins_28d",
        r#"{"name":"logins_28d","kind":"count","event":"Login"}"#,
    )?;
    let rollups = crate::rollups(&[
        ("OLD-1", "u1", "Login", "2020-01-06T10:00:00Z"),
        ("OLD-1", "u1", "Login", "2020-06-29T10:00:00Z"),
    ]);
    let facts = mikawaya_playbooks::facts::account_facts(&world.store, &read)?;
    let today = date(2026, 12, 3);
    let span = rollups.event_span();
    assert_eq!(span, Some((date(2020, 1, 6), date(2020, 6, 29))));
    let stopped = mikawaya_app::series::update(
        &world.store,
        &manage,
        &read,
        &rollups,
        &facts,
        today,
        span,
        &|| false,
    );
    assert!(stopped.is_err());
    assert!(
        world.store.metric_days("logins_28d")?.is_empty(),
        "nothing half-done"
    );
    let written = mikawaya_app::series::update(
        &world.store,
        &manage,
        &read,
        &rollups,
        &facts,
        today,
        span,
        &|| true,
    )?;
    let days = world.store.metric_days("logins_28d")?;
    assert_eq!(written, days.len(), "one account, one value a day");
    assert!(days.len() < 70, "{}", days.len());
    assert_eq!(days.last(), Some(&today));
    // Within the events' span and the 28 days their window reaches after it.
    assert!(
        days[..days.len() - 1]
            .iter()
            .all(|d| *d >= date(2020, 1, 6) && *d <= date(2020, 7, 27))
    );
    Ok(())
}

/// Likes and dislikes over the 28 days before Mar 1 (by hand): L has 3 likes and 1
/// dislike: opinions 4, net 2, dislike percent 25; Q has none: opinions 0, its dislike
/// percent missing (the denominator is 0).
#[test]
fn sums_differences_and_percentages_of_event_counts() -> TestResult {
    use mikawaya_analytics::metrics::{Metric, MetricSpec, MetricTerm, ObservationDates, Subject};
    let count = |name: &str, event: &str| MetricSpec {
        name: name.into(),
        kind: "count".into(),
        event: Some(event.into()),
        ..MetricSpec::default()
    };
    let term = |metric: MetricSpec, weight: f64| MetricTerm { metric, weight };
    let (likes, dislikes) = (count("likes", "Like"), count("dislikes", "Dislike"));
    let opinions = MetricSpec {
        name: "opinions".into(),
        kind: "sum_of".into(),
        terms: vec![term(likes.clone(), 1.0), term(dislikes.clone(), 1.0)],
        ..MetricSpec::default()
    };
    let net = MetricSpec {
        name: "net".into(),
        kind: "sum_of".into(),
        terms: vec![term(likes, 1.0), term(dislikes.clone(), -1.0)],
        ..MetricSpec::default()
    };
    let dislike_pct = MetricSpec {
        name: "dislike_pct".into(),
        kind: "ratio".into(),
        numerator: Some(Box::new(dislikes)),
        denominator: Some(Box::new(opinions.clone())),
        scale: Some(100.0),
        ..MetricSpec::default()
    };
    let rollups = crate::rollups(&[
        ("L", "u", "Like", "2026-02-03T10:00:00Z"),
        ("L", "u", "Like", "2026-02-10T10:00:00Z"),
        ("L", "u", "Like", "2026-02-28T10:00:00Z"),
        ("L", "u", "Dislike", "2026-02-15T10:00:00Z"),
        ("L", "u", "Like", "2026-01-10T10:00:00Z"),
        ("Q", "u", "Login", "2026-02-15T10:00:00Z"),
    ]);
    let subject = |key: &str| Subject {
        id: mikawaya_domain::AccountId::new(1),
        usage_key: Some(key.into()),
        tenure_start: None,
    };
    let day = date(2026, 3, 1);
    let dates = ObservationDates::new(&[date(2026, 2, 1), day]);
    for (spec, on_l, on_q) in [
        (&opinions, Some(4.0), Some(0.0)),
        (&net, Some(2.0), Some(0.0)),
        (&dislike_pct, Some(25.0), None),
    ] {
        let metric = Metric::check(spec)?;
        assert_eq!(
            metric.value(&rollups, &subject("L"), day),
            on_l,
            "{}",
            spec.name
        );
        assert_eq!(
            metric.value(&rollups, &subject("Q"), day),
            on_q,
            "{}",
            spec.name
        );
        // The series path gives what the value path gives on every date.
        let series = metric.series(&rollups, &subject("L"), &dates);
        let one_by_one: Vec<Option<f64>> = dates
            .dates()
            .iter()
            .map(|d| metric.value(&rollups, &subject("L"), *d))
            .collect();
        assert_eq!(series, one_by_one, "{}", spec.name);
    }
    // Checked with field-named errors.
    let refused = |spec: MetricSpec| Metric::check(&spec).err().map(|e| e.field);
    let mut scaled_count = count("x", "Like");
    scaled_count.scale = Some(100.0);
    assert_eq!(refused(scaled_count).as_deref(), Some("scale"));
    let empty = MetricSpec {
        name: "empty".into(),
        kind: "sum_of".into(),
        ..MetricSpec::default()
    };
    assert_eq!(refused(empty).as_deref(), Some("terms"));
    let bad_term = MetricSpec {
        name: "bad".into(),
        kind: "sum_of".into(),
        terms: vec![term(
            MetricSpec {
                name: "x".into(),
                kind: "counts".into(),
                ..MetricSpec::default()
            },
            1.0,
        )],
        ..MetricSpec::default()
    };
    assert_eq!(refused(bad_term).as_deref(), Some("terms[0].metric.kind"));
    let zero_scale = MetricSpec {
        scale: Some(0.0),
        ..dislike_pct
    };
    assert_eq!(refused(zero_scale).as_deref(), Some("scale"));
    Ok(())
}

/// pct_change as a percentage (the default) or, with scale 1, a fraction: 2 logins in
/// the 28 days before Mar 1 against 4 in the 28 before that is -50% or -0.5.
#[test]
fn pct_change_is_a_percentage_or_a_fraction() -> TestResult {
    use mikawaya_analytics::metrics::{Metric, MetricSpec, Subject};
    let rollups = crate::rollups(&[
        ("P", "u", "Login", "2026-01-05T10:00:00Z"),
        ("P", "u", "Login", "2026-01-12T10:00:00Z"),
        ("P", "u", "Login", "2026-01-19T10:00:00Z"),
        ("P", "u", "Login", "2026-01-26T10:00:00Z"),
        ("P", "u", "Login", "2026-02-09T10:00:00Z"),
        ("P", "u", "Login", "2026-02-16T10:00:00Z"),
    ]);
    let subject = Subject {
        id: mikawaya_domain::AccountId::new(1),
        usage_key: Some("P".into()),
        tenure_start: None,
    };
    let change = |scale: Option<f64>| MetricSpec {
        name: "login_change".into(),
        kind: "pct_change".into(),
        of: Some(Box::new(MetricSpec {
            name: "logins".into(),
            kind: "count".into(),
            event: Some("Login".into()),
            ..MetricSpec::default()
        })),
        scale,
        ..MetricSpec::default()
    };
    let day = date(2026, 3, 1);
    assert_eq!(
        Metric::check(&change(None))?.value(&rollups, &subject, day),
        Some(-50.0)
    );
    assert_eq!(
        Metric::check(&change(Some(1.0)))?.value(&rollups, &subject, day),
        Some(-0.5)
    );
    Ok(())
}
