//! The starter playbooks (editable, in Japanese and English) and the metrics they read.

use crate::Result;
use mikawaya_domain::access::ManageAccess;
use mikawaya_store::Store;

/// The starter playbooks as JSON specs.
pub const PLAYBOOKS: &[(&str, &str)] = &[
    (
        "onboarding-kickoff",
        include_str!("../starter/onboarding-kickoff.json"),
    ),
    (
        "adoption-drop",
        include_str!("../starter/adoption-drop.json"),
    ),
    ("renewal-120", include_str!("../starter/renewal-120.json")),
    ("renewal-90", include_str!("../starter/renewal-90.json")),
    ("renewal-60", include_str!("../starter/renewal-60.json")),
    (
        "detractor-recovery",
        include_str!("../starter/detractor-recovery.json"),
    ),
    (
        "champion-left",
        include_str!("../starter/champion-left.json"),
    ),
    (
        "expansion-signal",
        include_str!("../starter/expansion-signal.json"),
    ),
    (
        "relationship-nps",
        include_str!("../starter/relationship-nps.json"),
    ),
    ("support-ces", include_str!("../starter/support-ces.json")),
    (
        "onboarding-csat",
        include_str!("../starter/onboarding-csat.json"),
    ),
];

/// Metrics the starters read, defined when missing.
pub const METRICS: &[(&str, &str)] = &[
    (
        "active-users-28d",
        r#"{"name":"active-users-28d","kind":"distinct_users","window_days":28}"#,
    ),
    (
        "active-users-growth",
        r#"{"name":"active-users-growth","kind":"pct_change","window_days":28,"of":{"name":"active-users-28d","kind":"distinct_users","window_days":28}}"#,
    ),
];

/// Saves the starter playbooks (a new version only where the stored one differs) and
/// defines their metrics when missing. Returns (name, version) of each.
pub fn install(store: &dyn Store, access: &ManageAccess) -> Result<Vec<(String, i64)>> {
    let known: Vec<String> = store
        .list_metrics()?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for (name, spec) in METRICS {
        if !known.iter().any(|k| k == name) {
            store.put_metric(access, name, spec)?;
        }
    }
    let mut saved = Vec::new();
    for (name, json) in PLAYBOOKS {
        let playbook = crate::spec::parse(json)?;
        let canonical = serde_json::to_string(playbook.spec())
            .map_err(|e| mikawaya_domain::Invalid::new("spec", e.to_string()))?;
        let version = store.put_playbook(access, name, &canonical)?;
        saved.push(((*name).to_owned(), version));
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_starter_checks_and_speaks_both_languages() {
        for (name, json) in super::PLAYBOOKS {
            let playbook = crate::spec::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(playbook.name().as_str(), *name);
            assert!(
                playbook.spec().title.ja.is_some(),
                "{name} has no Japanese title"
            );
            let text = serde_json::to_string(playbook.spec()).unwrap_or_default();
            assert!(!text.contains("\"ja\":null"), "{name}");
        }
    }
}
