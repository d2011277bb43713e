//! Health snapshots: the `default` scorecard computed for every account as of a day and
//! stored, so pages, dashboards and history read scores instead of recomputing them. The
//! server takes one a day; the demo and `mikawaya health --store --from` fill the past.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_analytics::scorecard::{Colour, Scorecard, Scored};
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::{AccountId, ReadAccess};
use mikawaya_store::Store;
use mikawaya_store::work::HealthRow;
use std::collections::HashMap;

/// The scorecard snapshots are taken of.
pub const SCORECARD: &str = "default";

/// The wire name of a colour.
pub fn colour_name(colour: Colour) -> &'static str {
    match colour {
        Colour::Red => "red",
        Colour::Yellow => "yellow",
        Colour::Green => "green",
    }
}

/// Computes and stores the snapshot of each day in `days`; returns the rows written.
pub fn snapshot(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    days: &[Date],
) -> Result<usize> {
    let accounts = store.all_accounts(read)?;
    let ids: HashMap<String, AccountId> = accounts
        .iter()
        .filter_map(|a| a.external_id.as_ref().map(|e| (e.to_string(), a.id)))
        .collect();
    let scored = Scored::from_accounts(&accounts);
    let card = Scorecard::default_card();
    let mut written = 0;
    for day in days {
        let rows: Vec<HealthRow> = card
            .score(usage, &scored, *day)
            .into_iter()
            .filter_map(|(key, health)| {
                ids.get(&key).map(|id| HealthRow {
                    account_id: *id,
                    day: *day,
                    score: health.score,
                    colour: health.colour.map(|c| colour_name(c).to_owned()),
                    measures: serde_json::to_string(&health.measures)
                        .unwrap_or_else(|_| "[]".to_owned()),
                })
            })
            .collect();
        written += rows.len();
        store.put_health(access, SCORECARD, *day, &rows)?;
    }
    Ok(written)
}

/// Every `every_days` from `from` to `to` (inclusive), ending exactly on `to`.
pub fn days_back(from: Date, to: Date, every_days: u32) -> Vec<Date> {
    let mut days = Vec::new();
    let mut day = to;
    while day >= from {
        days.push(day);
        match day.checked_sub(jiff::Span::new().days(i64::from(every_days.max(1)))) {
            Ok(previous) => day = previous,
            Err(_) => break,
        }
    }
    days.reverse();
    days
}
