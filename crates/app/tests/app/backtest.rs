//! The scorecard editor's backtests keep the history they read for the next draft, and
//! read it again as soon as anything it came from changes.

use crate::{TestResult, World, date, rollups};
use mikawaya_analytics::scorecard::{CardSetSpec, Scorecard};
use mikawaya_app::backtest::HistoryCache;
use mikawaya_app::forecast::Plan;
use mikawaya_app::scorecards::compare;
use mikawaya_domain::Actor;
use mikawaya_domain::subscription::SubscriptionPatch;
use mikawaya_store::Store;
use std::sync::Arc;

#[test]
fn the_history_is_kept_while_nothing_it_came_from_changes() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let read = Actor::system().read();
    // Six accounts paying since 2025; two stop in the spring of 2026.
    let mut subscriptions = Vec::new();
    for (key, end) in [
        ("A", Some(date(2026, 3, 1))),
        ("B", Some(date(2026, 4, 10))),
        ("C", None),
        ("D", None),
        ("E", None),
        ("F", None),
    ] {
        let account = world.account(key, |_| {})?;
        subscriptions.push(world.paying(account, 100.0, date(2025, 1, 1), end)?);
    }
    // The accounts that stay use the product; the others stopped early in 2026.
    let mut calls = Vec::new();
    let instants: Vec<String> = (1..=12)
        .flat_map(|month| {
            [
                format!("2025-{month:02}-05T10:00:00Z"),
                format!("2025-{month:02}-20T10:00:00Z"),
            ]
        })
        .chain((1..=5).map(|month| format!("2026-{month:02}-05T10:00:00Z")))
        .collect();
    for instant in &instants {
        for key in ["C", "D", "E", "F"] {
            calls.push((key, "u1", "Login", instant.as_str()));
        }
        if instant.starts_with("2025") {
            calls.push(("A", "u2", "Login", instant.as_str()));
            calls.push(("B", "u3", "Login", instant.as_str()));
        }
    }
    let usage = rollups(&calls);
    let plan = Plan {
        as_of: date(2026, 6, 1),
        horizon_days: 60,
        every_days: 14,
        folds: 2,
    };
    let draft = CardSetSpec {
        default: Some(Scorecard::default_card().spec().clone()),
        segments: Vec::new(),
    };
    let through = *plan.dates()?.last().ok_or("no dates")?;
    let cache = HistoryCache::default();
    let first = compare(&world.store, &read, &usage, &draft, &plan, &cache)?;
    assert!(first.draft.n > 0 && first.draft.n_churned > 0, "{first:?}");
    // The same draft again: the kept history, the same answer as a fresh read.
    let kept = cache.history(&world.store, &read, &usage, through)?;
    let again = compare(&world.store, &read, &usage, &draft, &plan, &cache)?;
    let fresh = compare(
        &world.store,
        &read,
        &usage,
        &draft,
        &plan,
        &HistoryCache::default(),
    )?;
    assert_eq!(again, first);
    assert_eq!(fresh, first);
    assert!(Arc::ptr_eq(
        &kept,
        &cache.history(&world.store, &read, &usage, through)?
    ));

    // Today's events do not touch the history; an event for an old day does.
    let mut today = calls.clone();
    today.push(("C", "u1", "Login", "2026-06-01T09:00:00Z"));
    let with_today = rollups(&today);
    assert!(Arc::ptr_eq(
        &kept,
        &cache.history(&world.store, &read, &with_today, through)?
    ));
    let mut late = calls.clone();
    late.push(("A", "u2", "Login", "2026-02-20T09:00:00Z"));
    let with_late = rollups(&late);
    let reread = cache.history(&world.store, &read, &with_late, through)?;
    assert!(!Arc::ptr_eq(&kept, &reread));

    // A subscription that ends changes the labels: the history is read again.
    let stays = subscriptions.get(2).ok_or("no subscription C")?;
    world.store.update_subscription(
        &write,
        stays.id,
        SubscriptionPatch {
            end: mikawaya_domain::Patch::Set(date(2026, 3, 20)),
            ..SubscriptionPatch::default()
        },
    )?;
    let changed = compare(&world.store, &read, &usage, &draft, &plan, &cache)?;
    assert!(
        changed.draft.n_churned > first.draft.n_churned,
        "{changed:?}"
    );
    let fresh = compare(
        &world.store,
        &read,
        &usage,
        &draft,
        &plan,
        &HistoryCache::default(),
    )?;
    assert_eq!(changed, fresh);
    Ok(())
}
