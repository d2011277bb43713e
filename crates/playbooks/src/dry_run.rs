//! A dry run of a playbook (saved or a draft) over past days: for each day, which
//! accounts its trigger and conditions would have fired for, why, and whether the firing
//! would have been held out, keeping its cooldown (against the playbook's stored runs and
//! the dry run's own firings). Nothing is written.

use crate::Result;
use crate::facts::Facts;
use crate::spec::Playbook;
use crate::trigger::{FireReason, conditions_hold, fires};
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::work::RunStatus;
use mikawaya_domain::{AccountId, ReadAccess};
use mikawaya_store::Store;
use std::collections::HashMap;

/// One firing the dry run found.
#[derive(Debug, Clone, PartialEq)]
pub struct DryFiring {
    /// The day.
    pub day: Date,
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub account_name: String,
    /// Why.
    pub reason: FireReason,
    /// Would have been held out.
    pub holdout: bool,
}

/// The firings of `playbook` on each of `days` (in order) over the accounts `access` sees.
pub fn dry_run(
    store: &dyn Store,
    access: &ReadAccess,
    usage: Option<&dyn UsageSource>,
    playbook: &Playbook,
    days: &[Date],
) -> Result<Vec<DryFiring>> {
    let Some(last) = days.iter().max().copied() else {
        return Ok(Vec::new());
    };
    let facts = Facts::load(store, access, usage, last)?;
    let spec = playbook.spec();
    let name = playbook.name().as_str();
    let cooldown = i64::from(spec.cooldown_days);
    // The last firing per account: stored runs first, then the dry run's own.
    let mut last_fired: HashMap<AccountId, Date> = HashMap::new();
    for ((playbook_name, account), runs) in &facts.runs {
        if playbook_name == name
            && let Some(run) = runs.iter().rev().find(|r| r.status != RunStatus::Cancelled)
        {
            last_fired.insert(*account, run.fired_on);
        }
    }
    let mut found = Vec::new();
    for day in days {
        for account in &facts.accounts {
            if last_fired
                .get(&account.id)
                .is_some_and(|fired| fired <= day && (*day - *fired).get_days() < cooldown as i32)
            {
                continue;
            }
            if !conditions_hold(&spec.conditions, account, &facts) {
                continue;
            }
            let Some(reason) = fires(&spec.trigger, account, &facts, *day) else {
                continue;
            };
            last_fired.insert(account.id, *day);
            found.push(DryFiring {
                day: *day,
                account_id: account.id,
                account_name: account.name.to_string(),
                reason,
                holdout: crate::engine::held_out(name, account.id, *day, spec.holdout_percent),
            });
        }
    }
    Ok(found)
}
