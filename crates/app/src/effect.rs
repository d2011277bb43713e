//! Does a playbook work, and which one should an account get next? One home for the
//! playbook pages, `GET /api/v1/playbooks/{name}/effectiveness`, `mikawaya playbooks
//! effectiveness`, the replay of history, and the next best action on Customer 360 and
//! Today.
//!
//! - **Effectiveness**: each playbook's runs against its held-out control group, overall,
//!   per version and per touch tier ([`mikawaya_playbooks::effectiveness`]).
//! - **Next best action**: for an account, the playbooks ranked by their measured uplift on
//!   accounts of the same touch tier (success rate of runs minus that of the holdout), each
//!   with its 95% interval and the number of runs and held-out firings behind it. The table
//!   is measured once a day by the daily run (and by the demo) and kept, so a page reads it
//!   in one look-up; playbooks already running on the account, without a holdout to
//!   compare with, or whose measured uplift is not positive are left out.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::account::Account;
use mikawaya_domain::work::RunStatus;
use mikawaya_domain::{Actor, ReadAccess};
use mikawaya_playbooks::effectiveness::{Comparison, Effectiveness, report};
use mikawaya_playbooks::facts::Facts;
use mikawaya_store::work::RunFilter;
use mikawaya_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// The latest version of each playbook (or of the one named) with its effectiveness report
/// on `as_of` (playbooks without an outcome are left out). Unknown name: invalid (`name`).
pub fn reports(
    store: &dyn Store,
    access: &ReadAccess,
    usage: Option<&dyn UsageSource>,
    only: Option<&str>,
    as_of: Date,
) -> Result<Vec<Effectiveness>> {
    let (versions, _) = mikawaya_playbooks::engine::load_playbooks(store, access)?;
    reports_of(store, access, usage, &versions, only, as_of)
}

/// [`reports`] over playbook versions already loaded.
fn reports_of(
    store: &dyn Store,
    access: &ReadAccess,
    usage: Option<&dyn UsageSource>,
    versions: &std::collections::HashMap<(String, i64), mikawaya_playbooks::Playbook>,
    only: Option<&str>,
    as_of: Date,
) -> Result<Vec<Effectiveness>> {
    let mut latest: std::collections::BTreeMap<&str, (i64, &mikawaya_playbooks::Playbook)> =
        Default::default();
    for ((name, version), playbook) in versions {
        if only.is_some_and(|n| n != name) {
            continue;
        }
        let entry = latest.entry(name).or_insert((*version, playbook));
        if *version > entry.0 {
            *entry = (*version, playbook);
        }
    }
    if let Some(name) = only
        && latest.is_empty()
    {
        return Err(
            mikawaya_domain::Invalid::new("name", format!("no playbook named {name}")).into(),
        );
    }
    let runs = store.list_runs(access, &RunFilter::default())?;
    let facts = Facts::load(store, access, usage, as_of)?;
    Ok(latest
        .values()
        .filter_map(|(_, playbook)| report(playbook, &runs, &facts, as_of))
        .collect())
}

/// A playbook's measured uplift on one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uplift {
    /// The playbook.
    pub playbook: String,
    /// Its title in English.
    pub title_en: String,
    /// Its title in Japanese.
    pub title_ja: String,
    /// The touch tier (`none`: accounts without one).
    pub segment: String,
    /// What success is.
    pub outcome: mikawaya_playbooks::spec::Outcome,
    /// Runs.
    pub runs: u64,
    /// Held-out firings.
    pub held_out: u64,
    /// Success rate of runs minus that of the holdout.
    pub uplift: f64,
    /// Its 95% interval.
    pub ci95: (f64, f64),
    /// The day it was measured.
    pub measured_on: Date,
}

/// Where the measured table is kept.
const UPLIFT_KEY: &str = "playbook_uplift";
/// Where the day's effectiveness reports are kept.
const REPORTS_KEY: &str = "playbook_effect";

/// The effectiveness reports the daily run measured last (none yet: empty), for pages
/// that list every playbook without recomputing every run's outcome.
pub fn measured_reports(store: &dyn Store) -> Result<Vec<Effectiveness>> {
    let Some(json) = store.get_meta(REPORTS_KEY)? else {
        return Ok(Vec::new());
    };
    Ok(serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("playbook effect: {e}")))?)
}

/// The uplifts of every playbook on every segment where both runs and held-out firings
/// have a known outcome.
pub fn uplifts(
    reports: &[Effectiveness],
    titles: &[(String, String, String)],
    day: Date,
) -> Vec<Uplift> {
    let mut found = Vec::new();
    for report in reports {
        let (en, ja) = titles
            .iter()
            .find(|(name, _, _)| *name == report.playbook)
            .map_or(
                (report.playbook.clone(), report.playbook.clone()),
                |(_, en, ja)| (en.clone(), ja.clone()),
            );
        for (segment, comparison) in &report.by_segment {
            let Comparison {
                a,
                b,
                difference: Some(uplift),
                ci95: Some(ci95),
                ..
            } = comparison
            else {
                continue;
            };
            found.push(Uplift {
                playbook: report.playbook.clone(),
                title_en: en.clone(),
                title_ja: ja.clone(),
                segment: segment.clone(),
                outcome: report.outcome.clone(),
                runs: a.n as u64,
                held_out: b.n as u64,
                uplift: *uplift,
                ci95: *ci95,
                measured_on: day,
            });
        }
    }
    found
}

/// Measures every playbook's uplift per segment on `day` and keeps the table.
pub fn measure(store: &dyn Store, usage: Option<&dyn UsageSource>, day: Date) -> Result<usize> {
    let access = Actor::system().read();
    let (versions, firing) = mikawaya_playbooks::engine::load_playbooks(store, &access)?;
    let found = reports_of(store, &access, usage, &versions, None, day)?;
    let titles: Vec<(String, String, String)> = firing
        .iter()
        .map(|(_, p)| {
            let title = &p.spec().title;
            (
                p.name().to_string(),
                title.en.clone(),
                title.pick("ja").to_owned(),
            )
        })
        .collect();
    let table = uplifts(&found, &titles, day);
    let json =
        serde_json::to_string(&table).map_err(|e| StoreError::Corrupt(format!("uplift: {e}")))?;
    store.put_meta(UPLIFT_KEY, &json)?;
    let json = serde_json::to_string(&found)
        .map_err(|e| StoreError::Corrupt(format!("playbook effect: {e}")))?;
    store.put_meta(REPORTS_KEY, &json)?;
    Ok(table.len())
}

/// The next best actions for an account: the playbooks measured on its tier, best uplift
/// first, without those already running on it.
pub fn next_best(store: &dyn Store, access: &ReadAccess, account: &Account) -> Result<Vec<Uplift>> {
    let Some(json) = store.get_meta(UPLIFT_KEY)? else {
        return Ok(Vec::new());
    };
    let table: Vec<Uplift> = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("uplift table: {e}")))?;
    let running: Vec<String> = store
        .list_runs(
            access,
            &RunFilter {
                account_id: Some(account.id),
                ..RunFilter::default()
            },
        )?
        .into_iter()
        .filter(|r| r.status == RunStatus::Active)
        .map(|r| r.playbook)
        .collect();
    let segment = account.tier.map_or("none", |t| t.as_str());
    let mut found: Vec<Uplift> = table
        .into_iter()
        .filter(|u| u.segment == segment && u.uplift > 0.0 && !running.contains(&u.playbook))
        .collect();
    found.sort_by(|a, b| {
        b.uplift
            .total_cmp(&a.uplift)
            .then(a.playbook.cmp(&b.playbook))
    });
    Ok(found)
}
