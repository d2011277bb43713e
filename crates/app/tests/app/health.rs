//! Health through the use cases: segment scorecards score their accounts in snapshots,
//! and a stored snapshot and a computed score of the same day agree.

use crate::{TestResult, World, date, rollups};
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::Store;

/// Saves segment scorecards: high-touch accounts scored by "enterprise", exports counted
/// from 0 (red) to `green`.
fn save_enterprise_card(world: &World, green: u32) -> TestResult {
    let cards = serde_json::json!([{"segment": {"field": "tier", "value": "high"},
        "scorecard": {"name": "enterprise", "measures": [
            {"metric": {"name": "exports", "kind": "count", "event": "Export"}, "weight": 1, "red": 0, "green": green}]}}]);
    world.store.put_config(
        &Actor::system().manage()?,
        mikawaya_domain::config::ConfigKind::SegmentScorecards,
        &cards.to_string(),
    )?;
    Ok(())
}

#[test]
fn segment_scorecards_score_their_accounts_and_others_use_default() -> TestResult {
    let world = World::new()?;
    let high = world.account("big", |a| a.tier = Some(TouchTier::High))?;
    let low = world.account("small", |a| a.tier = Some(TouchTier::Low))?;
    save_enterprise_card(&world, 4)?;
    let usage = rollups(&[
        ("big", "u1", "Export", "2026-05-20T10:00:00Z"),
        ("big", "u1", "Export", "2026-05-21T10:00:00Z"),
        ("small", "u2", "Export", "2026-05-20T10:00:00Z"),
    ]);
    let day = date(2026, 6, 1);
    mikawaya_app::health::snapshot(
        &world.store,
        &Actor::system().manage()?,
        &Actor::system().read(),
        &usage,
        &[day],
    )?;
    let rows = world.store.health_rows(
        &Actor::system().read(),
        mikawaya_playbooks::health::SCORECARD,
        None,
        day,
        day,
    )?;
    let of = |id: AccountId| rows.iter().find(|r| r.account_id == id).cloned();
    let big = of(high).ok_or("no score for big")?;
    // 2 exports between red 0 and green 4 → 50; the enterprise card has that one measure.
    assert_eq!(big.score, Some(50.0));
    assert!(
        big.measures.iter().any(|m| m.metric == "exports"),
        "{:?}",
        big.measures
    );
    let small = of(low).ok_or("no score for small")?;
    assert!(
        small.measures.iter().all(|m| m.metric != "exports"),
        "the default card: {:?}",
        small.measures
    );
    // A card on an unknown field is refused with its place.
    let bad: Vec<mikawaya_playbooks::health::SegmentCard> = serde_json::from_value(
        serde_json::json!([
        {"segment": {"field": "region", "value": "kanto"}, "scorecard": {"name": "x", "measures": []}}]),
    )?;
    let refused = mikawaya_playbooks::health::check_segment_cards(&bad);
    assert_eq!(
        refused.map_err(|e| e.field).err().as_deref(),
        Some("segments[0].segment.field")
    );
    Ok(())
}

#[test]
fn the_stored_snapshot_and_the_computed_health_of_a_day_agree() -> TestResult {
    let world = World::new()?;
    let high = world.account("big", |a| a.tier = Some(TouchTier::High))?;
    let keyless = world.account("nokey", |a| {
        a.external_id = None;
        a.tier = Some(TouchTier::Low);
    })?;
    save_enterprise_card(&world, 4)?;
    let usage = rollups(&[
        ("big", "u1", "Export", "2026-05-20T10:00:00Z"),
        ("big", "u1", "Export", "2026-05-21T10:00:00Z"),
        ("big", "u1", "Export", "2026-05-22T10:00:00Z"),
    ]);
    let day = date(2026, 6, 1);
    let read = Actor::system().read();
    let computed = mikawaya_app::health::scores_on(&world.store, &read, &usage, day)?;
    // 3 exports of 4 → 75, green, by the enterprise card; the account without an external
    // id is scored too (by default, on no usage) instead of being left out.
    assert_eq!(computed[&high].score, Some(75.0));
    assert_eq!(computed[&high].card, "enterprise");
    assert_eq!(computed[&keyless].card, "default");
    let view = mikawaya_app::health::account_health(&world.store, &read, &usage, high, day)?;
    assert_eq!(view.now.as_ref(), computed.get(&high));
    mikawaya_app::health::snapshot(
        &world.store,
        &Actor::system().manage()?,
        &read,
        &usage,
        &[day],
    )?;
    let stored = mikawaya_app::health::scores_on(&world.store, &read, &usage, day)?;
    assert_eq!(stored, computed);
    // New segment scorecards make the stored snapshot stale: the day is scored again.
    save_enterprise_card(&world, 6)?;
    let rescored = mikawaya_app::health::scores_on(&world.store, &read, &usage, day)?;
    assert_eq!(rescored[&high].score, Some(50.0));
    let view = mikawaya_app::health::account_health(&world.store, &read, &usage, high, day)?;
    assert_eq!(view.now.and_then(|h| h.score), Some(50.0));
    // History keeps what was stored.
    assert_eq!(view.history.last(), Some(&(day, Some(75.0))));
    // A partner that cannot see the account gets not found, not a score.
    let partner = world.store.upsert_partner(
        &Actor::system().manage()?,
        mikawaya_domain::partner::NewPartner {
            external_id: None,
            name: mikawaya_domain::value::Name::parse("Reseller")?,
        },
    )?;
    let outsider = Actor::new(
        None,
        mikawaya_domain::access::Role::Partner,
        Some(partner.id),
        mikawaya_domain::access::Scope::Read,
    )?;
    let refused =
        mikawaya_app::health::account_health(&world.store, &outsider.read(), &usage, high, day);
    assert!(
        matches!(
            refused,
            Err(mikawaya_app::AppError::Store(
                mikawaya_store::StoreError::NotFound { .. }
            ))
        ),
        "{refused:?}"
    );
    assert!(
        mikawaya_app::health::scores_on(&world.store, &outsider.read(), &usage, day)?.is_empty()
    );
    Ok(())
}
