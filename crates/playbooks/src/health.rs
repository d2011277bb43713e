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

/// Which accounts a scorecard is for: a touch tier, plan or lifecycle stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// `tier`, `plan` or `stage`.
    pub field: String,
    /// The value.
    pub value: String,
}

/// A scorecard for a segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentCard {
    /// The accounts it scores.
    pub segment: SegmentRule,
    /// The scorecard.
    pub scorecard: mikawaya_analytics::scorecard::ScorecardSpec,
}

/// The meta key holding the segment scorecards (a JSON array, first match wins).
pub const SEGMENT_CARDS: &str = "scorecards.segments";

/// Checks segment scorecards (field names, scorecards) and returns them checked.
pub fn check_segment_cards(
    cards: &[SegmentCard],
) -> std::result::Result<Vec<(SegmentRule, Scorecard)>, mikawaya_domain::Invalid> {
    cards
        .iter()
        .enumerate()
        .map(|(index, card)| {
            if !["tier", "plan", "stage"].contains(&card.segment.field.as_str()) {
                return Err(mikawaya_domain::Invalid::new(
                    format!("segments[{index}].segment.field"),
                    "must be tier, plan or stage",
                ));
            }
            let checked = Scorecard::check(&card.scorecard).map_err(|e| {
                let field = format!("segments[{index}].scorecard.{}", e.field);
                e.in_field(field)
            })?;
            Ok((card.segment.clone(), checked))
        })
        .collect()
}

/// The stored segment scorecards.
pub fn segment_cards(store: &dyn Store) -> Result<Vec<(SegmentRule, Scorecard)>> {
    let Some(raw) = store.get_meta(SEGMENT_CARDS)? else {
        return Ok(Vec::new());
    };
    let cards: Vec<SegmentCard> = serde_json::from_str(&raw)
        .map_err(|e| mikawaya_domain::Invalid::new(SEGMENT_CARDS, e.to_string()))?;
    Ok(check_segment_cards(&cards)?)
}

fn matches(rule: &SegmentRule, account: &mikawaya_domain::account::Account) -> bool {
    let value = match rule.field.as_str() {
        "tier" => account.tier.map(|t| t.as_str().to_owned()),
        "plan" => account.plan.as_ref().map(ToString::to_string),
        "stage" => account.stage.as_ref().map(ToString::to_string),
        _ => None,
    };
    value.as_deref() == Some(rule.value.as_str())
}

/// Computes and stores the snapshot of each day in `days`: each account is scored by the
/// first segment scorecard that matches it, else the built-in `default`; returns the rows
/// written.
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
    let mut cards = segment_cards(store)?;
    cards.push((
        SegmentRule {
            field: String::new(),
            value: String::new(),
        },
        Scorecard::default_card(),
    ));
    let last = cards.len() - 1;
    // Each account in the group of the first card that matches it.
    let mut groups: Vec<Vec<mikawaya_domain::account::Account>> = vec![Vec::new(); cards.len()];
    for account in accounts {
        let index = cards[..last]
            .iter()
            .position(|(rule, _)| matches(rule, &account))
            .unwrap_or(last);
        groups[index].push(account);
    }
    let groups: Vec<(Scorecard, Vec<Scored>)> = cards
        .into_iter()
        .zip(groups)
        .filter(|(_, group)| !group.is_empty())
        .map(|((_, card), group)| (card, Scored::from_accounts(&group)))
        .collect();
    let mut written = 0;
    for day in days {
        let rows: Vec<HealthRow> = groups
            .iter()
            .flat_map(|(card, scored)| card.score(usage, scored, *day))
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
