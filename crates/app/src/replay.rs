//! Replaying the playbook rules over past days on a virtual clock, one home for `mikawaya
//! rules evaluate --from` and the demo's year of playbook history: firings, runs and tasks
//! are recorded as they would have been; messages are recorded as suppressed (`history
//! replay`) and never sent.

use crate::Result;
use jiff::civil::Date;
use mikawaya_domain::{Actor, Invalid};
use mikawaya_ingest::Ingest;
use mikawaya_playbooks::{Clock, Settings};
use mikawaya_store::Store;
use serde::Serialize;

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replayed {
    /// Firings.
    pub fired: usize,
    /// Of which held out.
    pub held_out: usize,
    /// Tasks created.
    pub tasks: usize,
}

/// Evaluates the rules every `every_days` from `from` to `to` (messages suppressed).
pub fn replay(
    store: &dyn Store,
    ingest: &Ingest,
    settings: &Settings,
    (from, to): (Date, Date),
    every_days: u32,
    dry_run: bool,
) -> Result<Replayed> {
    if every_days == 0 {
        return Err(Invalid::new("every_days", "must be at least 1").into());
    }
    if from > to {
        return Err(Invalid::new("from", "must not be after as_of").into());
    }
    let settings = Settings {
        replay: true,
        ..settings.clone()
    };
    let access = Actor::system().write()?;
    let mut replayed = Replayed {
        fired: 0,
        held_out: 0,
        tasks: 0,
    };
    let mut day = from;
    while day <= to {
        let report = mikawaya_playbooks::evaluate_live(
            store,
            &access,
            ingest,
            Clock::on(day),
            &settings,
            dry_run,
            None,
        )?;
        replayed.fired += report.fired.len();
        replayed.held_out += report.fired.iter().filter(|f| f.holdout).count();
        replayed.tasks += report.tasks.len();
        day = day
            .checked_add(jiff::Span::new().days(i64::from(every_days)))
            .map_err(|e| Invalid::new("every_days", e.to_string()))?;
    }
    Ok(replayed)
}
