//! The scorecards in force ([`CardSet`]: the saved segment scorecards, then `default`), as
//! the rules read them; health snapshots and every screen's health are `mikawaya_app`'s.

use crate::Result;
use mikawaya_analytics::scorecard::Colour;
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::{Invalid, ReadAccess};
use mikawaya_store::Store;

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

pub use mikawaya_analytics::scorecard::{CardSet, CardSetSpec, SegmentCard, SegmentRule};

/// Checks segment scorecards (field names, scorecards).
pub fn check_segment_cards(cards: &[SegmentCard]) -> std::result::Result<CardSet, Invalid> {
    CardSet::check(cards)
}

/// The scorecards in force: the latest saved version (its segment cards, then its default
/// card or the built-in `default`). Saved cards that no longer read are corrupt data
/// (never silently ignored).
pub fn card_set(store: &dyn Store, access: &ReadAccess) -> Result<CardSet> {
    match store.config(access, ConfigKind::SegmentScorecards, None)? {
        Some(saved) => card_set_of(&saved),
        None => Ok(CardSet::default()),
    }
}

/// The cards of one saved version.
pub fn card_set_of(saved: &mikawaya_domain::config::ConfigVersion) -> Result<CardSet> {
    CardSetSpec::parse(&saved.body)
        .and_then(|spec| CardSet::from_spec(&spec).map_err(|e| e.to_string()))
        .map(|cards| cards.with_version(saved.version))
        .map_err(|reason| {
            mikawaya_store::StoreError::Corrupt(format!("scorecards v{}: {reason}", saved.version))
                .into()
        })
}
