//! Health snapshots: every account scored by the scorecards in force ([`CardSet`]) as of a
//! day and stored, so pages, dashboards and history read scores instead of recomputing them. The
//! server takes one a day; the demo and `mikawaya health --store --from` fill the past.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_analytics::scorecard::{AccountHealth, Colour};
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::{AccountId, Invalid, ReadAccess};
use mikawaya_store::Store;
use mikawaya_store::work::HealthRow;

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

pub use mikawaya_analytics::scorecard::{CardSet, SegmentCard, SegmentRule};

/// Checks segment scorecards (field names, scorecards).
pub fn check_segment_cards(cards: &[SegmentCard]) -> std::result::Result<CardSet, Invalid> {
    CardSet::check(cards)
}

/// The scorecards in force: the latest saved segment scorecards, then the built-in
/// `default`. Saved cards that no longer read are corrupt data (never silently ignored).
pub fn card_set(store: &dyn Store, access: &ReadAccess) -> Result<CardSet> {
    let Some(saved) = store.config(access, ConfigKind::SegmentScorecards, None)? else {
        return Ok(CardSet::default());
    };
    segment_cards_of(&saved)
        .and_then(|cards| CardSet::check(&cards).map_err(|e| e.to_string()))
        .map_err(|reason| {
            mikawaya_store::StoreError::Corrupt(format!(
                "segment scorecards v{}: {reason}",
                saved.version
            ))
            .into()
        })
}

/// The segment scorecards of a saved version, as people wrote them.
pub fn segment_cards_of(
    saved: &mikawaya_domain::config::ConfigVersion,
) -> std::result::Result<Vec<SegmentCard>, String> {
    serde_json::from_str(&saved.body).map_err(|e| e.to_string())
}

/// The stored row of one account's health on a day.
pub fn health_row(account_id: AccountId, day: Date, health: &AccountHealth) -> HealthRow {
    HealthRow {
        account_id,
        day,
        score: health.score,
        colour: health.colour.map(|c| colour_name(c).to_owned()),
        measures: serde_json::to_string(&health.measures).unwrap_or_else(|_| "[]".to_owned()),
        card: health.card.clone(),
    }
}

/// Computes and stores the snapshot of each day in `days`: each account is scored by the
/// card the [`CardSet`] in force gives it; returns the rows written.
pub fn snapshot(
    store: &dyn Store,
    access: &ManageAccess,
    read: &ReadAccess,
    usage: &dyn UsageSource,
    days: &[Date],
) -> Result<usize> {
    let accounts = store.all_accounts(read)?;
    let cards = card_set(store, read)?;
    let facts = crate::facts::facts_of(store, read, &accounts)?;
    let source = mikawaya_analytics::metrics::WithFacts {
        usage,
        facts: &facts,
    };
    let mut written = 0;
    for (day, scores) in days.iter().zip(cards.score_days(&source, &accounts, days)) {
        let rows: Vec<HealthRow> = scores
            .iter()
            .map(|(id, health)| health_row(*id, *day, health))
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
