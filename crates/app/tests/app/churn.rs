//! Churn cohorts by an account's attribute as it was when the period began: an account
//! that moves tier and then churns counts in its old tier.

use crate::{TestResult, World};
use mikawaya_domain::Actor;
use mikawaya_domain::account::{AccountPatch, TouchTier};
use mikawaya_domain::patch::Patch;
use mikawaya_domain::subscription::{NewSubscription, Term};
use mikawaya_domain::value::{Money, Slug};
use mikawaya_store::Store;

#[test]
fn churn_by_tier_counts_the_tier_at_the_start_of_the_period() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let today = jiff::Zoned::now().date();
    let days = |n: i64| today.checked_add(jiff::Span::new().days(n));
    let moved = world.account("MOVED", |_| {})?;
    let stayed = world.account("STAYED", |a| a.tier = Some(TouchTier::Low))?;
    // Both paid 100 a month from a year ago; MOVED stopped ten days ago.
    for (account, end) in [(moved, Some(days(-10)?)), (stayed, None)] {
        world.store.create_subscription(
            &write,
            NewSubscription {
                account_id: account,
                external_id: None,
                plan: Slug::parse("pro")?,
                quantity: 1,
                mrr: Money::new(100.0)?,
                term: Term::new(days(-365)?, end)?,
            },
        )?;
    }
    // Today MOVED was moved to tech touch (as a CRM does when an account leaves).
    world.store.update_account(
        &write,
        moved,
        AccountPatch {
            tier: Patch::Set(TouchTier::Tech),
            ..AccountPatch::default()
        },
    )?;
    let read = Actor::system().read();
    let analysis =
        mikawaya_app::churn::analyse(&world.store, &read, days(-60)?, today, Some("tier"))?;
    let cohorts = analysis.cohorts.unwrap_or_default();
    let names: Vec<&str> = cohorts.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["high", "low"],
        "no tech cohort: MOVED was high touch on the first day"
    );
    let high = &cohorts["high"];
    assert_eq!((high.accounts_at_start, high.churned), (1, 1));
    assert_eq!(high.logo_churn_rate, Some(1.0));
    assert_eq!(high.grr, Some(0.0));
    let low = &cohorts["low"];
    assert_eq!((low.accounts_at_start, low.churned), (1, 0));
    assert_eq!(low.grr, Some(1.0));

    // From tomorrow on, MOVED is in tech touch.
    let subscriptions = world.store.all_subscriptions(&read)?;
    let later =
        mikawaya_app::churn::cohorts(&world.store, &read, "tier", &subscriptions, days(1)?)?;
    assert_eq!(later.get(&moved).map(String::as_str), Some("tech"));
    assert_eq!(later.get(&stayed).map(String::as_str), Some("low"));
    let refused =
        mikawaya_app::churn::cohorts(&world.store, &read, "colour", &subscriptions, today);
    assert!(matches!(refused, Err(mikawaya_app::AppError::Invalid(ref e)) if e.field == "by"));
    Ok(())
}
