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
