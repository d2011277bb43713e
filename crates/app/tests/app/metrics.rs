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
    assert!(days.len() < 60, "{}", days.len());
    assert_eq!(days.last(), Some(&today));
    assert!(
        days[..days.len() - 1]
            .iter()
            .all(|d| *d >= date(2020, 1, 6) && *d <= date(2020, 6, 29))
    );
    Ok(())
}
