//! Metric definitions taken back: deleted or renamed with their stored series, refused
//! while something in force names them (a playbook, the journey, a plan template or an
//! active success plan), so nothing in force is left reading a metric that no longer
//! exists. Scorecards and ratio metrics hold their own copy of each metric's spec, so
//! they go on as they are.

use crate::Result;
use mikawaya_domain::Invalid;
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::plan::PlanStatus;
use mikawaya_domain::value::Slug;
use mikawaya_store::{Store, StoreError};

/// What names metric `name` now: one line each (`plan templates v3`, `playbook
/// renewal-risk`, `success plan #12`).
pub fn uses_of(store: &dyn Store, access: &ManageAccess, name: &str) -> Result<Vec<String>> {
    let read = access.write().read();
    let mut uses = Vec::new();
    for (kind, label) in [
        (ConfigKind::PlanTemplates, "plan templates"),
        (ConfigKind::Journey, "journey"),
    ] {
        if let Some(version) = store.config(&read, kind, None)?
            && names(&version.body, name)
        {
            uses.push(format!("{label} v{}", version.version));
        }
    }
    let mut playbooks = store.playbook_versions(&read, None)?;
    playbooks.sort_by(|a, b| (&a.name, b.version).cmp(&(&b.name, a.version)));
    playbooks.dedup_by(|later, first| later.name == first.name);
    for playbook in playbooks.iter().filter(|p| names(&p.spec, name)) {
        uses.push(format!("playbook {}", playbook.name));
    }
    let active = mikawaya_store::plans::PlanFilter {
        status: Some(PlanStatus::Active),
        ..Default::default()
    };
    for plan in store.list_plans(&read, &active)? {
        if plan
            .body
            .objectives
            .iter()
            .any(|o| o.target.as_ref().is_some_and(|t| t.metric.as_str() == name))
        {
            uses.push(format!("success plan #{}", plan.id.get()));
        }
    }
    Ok(uses)
}

/// Whether a JSON document has a `metric` key whose value is `name`, at any depth.
fn names(json: &str, name: &str) -> bool {
    fn walk(value: &serde_json::Value, name: &str) -> bool {
        match value {
            serde_json::Value::Object(map) => map.iter().any(|(key, value)| {
                (key == "metric" && value.as_str() == Some(name)) || walk(value, name)
            }),
            serde_json::Value::Array(items) => items.iter().any(|item| walk(item, name)),
            _ => false,
        }
    }
    serde_json::from_str(json).is_ok_and(|value: serde_json::Value| walk(&value, name))
}

fn refuse_in_use(store: &dyn Store, access: &ManageAccess, name: &str) -> Result<()> {
    let uses = uses_of(store, access, name)?;
    if uses.is_empty() {
        return Ok(());
    }
    Err(StoreError::Conflict {
        field: "name".into(),
        reason: format!("{name} is used by {}: change those first", uses.join(", ")),
    }
    .into())
}

/// Deletes a defined metric and its stored series.
pub fn delete(store: &dyn Store, access: &ManageAccess, name: &str) -> Result<()> {
    store.get_metric(name)?;
    refuse_in_use(store, access, name)?;
    Ok(store.delete_metric(access, name)?)
}

/// Renames a defined metric, its stored series with it; returns the new name as stored
/// (upper case folded, spaces as `_`).
pub fn rename(store: &dyn Store, access: &ManageAccess, from: &str, to: &str) -> Result<Slug> {
    let to = Slug::parse(to).map_err(|e| Invalid::new("to", e.reason))?;
    store.get_metric(from)?;
    refuse_in_use(store, access, from)?;
    store.rename_metric(access, from, to.as_str())?;
    Ok(to)
}
