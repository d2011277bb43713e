//! Churn cohorts by an account's attribute as it was when the period began: an account
//! that moves tier and then churns counts in its old tier.

use crate::{TestResult, World};
use mikawaya_domain::Actor;
use mikawaya_domain::account::{AccountPatch, TouchTier};
use mikawaya_domain::patch::Patch;
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
        world.paying(account, 100.0, days(-365)?, end)?;
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
    let subscriptions = world.store.revenue_rows(&read)?;
    let later =
        mikawaya_app::churn::cohorts(&world.store, &read, "tier", &subscriptions, days(1)?)?;
    assert_eq!(later.get(&moved).map(String::as_str), Some("tech"));
    assert_eq!(later.get(&stayed).map(String::as_str), Some("low"));
    let refused =
        mikawaya_app::churn::cohorts(&world.store, &read, "colour", &subscriptions, today);
    assert!(matches!(refused, Err(mikawaya_app::AppError::Invalid(ref e)) if e.field == "by"));
    Ok(())
}

/// Activity churn computed by hand (N = 28, t0 = Mar 1, t1 = Apr 1; a day's window is the
/// 28 days before it): A (Feb 20, Mar 25) stays; B (Feb 27) churns; C (Jan 15) is not in
/// the cohort; D (Feb 1, the window's first day; Mar 3, one day before t1's window)
/// churns; E (Mar 31) is not in the cohort. 2 of 3: 66.7% over one month, and
/// 1 - (1/3)^12 a year.
#[test]
fn activity_churn_counts_accounts_gone_quiet_by_hand() -> TestResult {
    let world = World::new()?;
    for key in ["A", "B", "C", "D", "E"] {
        world.account(key, |_| {})?;
    }
    let rollups = crate::rollups(&[
        ("A", "u", "Login", "2026-02-20T10:00:00Z"),
        ("A", "u", "Login", "2026-03-25T10:00:00Z"),
        ("B", "u", "Login", "2026-02-27T10:00:00Z"),
        ("C", "u", "Login", "2026-01-15T10:00:00Z"),
        ("D", "u", "Login", "2026-02-01T10:00:00Z"),
        ("D", "u", "Login", "2026-03-03T10:00:00Z"),
        ("E", "u", "Login", "2026-03-31T10:00:00Z"),
    ]);
    let read = Actor::system().read();
    let (from, to) = (crate::date(2026, 3, 1), crate::date(2026, 4, 1));
    let report = mikawaya_app::churn::activity(&world.store, &read, &rollups, from, to, 28)?;
    assert_eq!((report.accounts_at_start, report.churned), (3, 2));
    assert_eq!(report.rate, Some(2.0 / 3.0));
    assert_eq!(report.monthly, Some(2.0 / 3.0));
    let annual = report.annual.unwrap_or_default();
    assert!(
        (annual - (1.0 - (1.0f64 / 3.0).powi(12))).abs() < 1e-12,
        "{annual}"
    );
    // With 30 days D's Mar 3 counts at t1 (its window starts Mar 2): only B churns.
    let thirty = mikawaya_app::churn::activity(&world.store, &read, &rollups, from, to, 30)?;
    assert_eq!((thirty.accounts_at_start, thirty.churned), (3, 1));
    let refused = mikawaya_app::churn::activity(&world.store, &read, &rollups, from, to, 0);
    assert!(
        matches!(refused, Err(mikawaya_app::AppError::Invalid(e)) if e.field == "activity_days")
    );
    Ok(())
}

/// The cohorts page's table is kept while the book and the usage stand, and computed again
/// after either changes: a kept table always equals a fresh one.
#[test]
fn the_cohort_table_is_kept_until_the_book_or_the_usage_changes() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let account = world.account("A", |a| a.tier = Some(TouchTier::High))?;
    world.account("B", |_| {})?;
    let subscription = world.paying(account, 100.0, crate::date(2025, 1, 1), None)?;
    let rollups = crate::rollups(&[("A", "u", "Login", "2026-03-20T10:00:00Z")]);
    let read = Actor::system().read();
    let (from, to) = (crate::date(2026, 3, 1), crate::date(2026, 4, 1));
    let sums = mikawaya_app::kept::Sums::default();
    let table = |usage: &mikawaya_usage::rollup::Rollups| {
        mikawaya_app::churn::cohort_table(&world.store, &read, usage, from, to, "tier", 28, &sums)
    };
    let first = table(&rollups)?;
    assert_eq!(first.0.overall.churned, 0);
    assert!(
        std::sync::Arc::ptr_eq(&first.0, &table(&rollups)?.0),
        "kept"
    );
    // A call logged is not the book: the table stands.
    world.store.create_touchpoint(
        &write,
        mikawaya_domain::touchpoint::NewTouchpoint {
            account_id: account,
            kind: mikawaya_domain::touchpoint::TouchpointKind::Call,
            occurred_at: "2026-03-10T09:00:00Z".parse()?,
            user_id: None,
            summary: None,
            attendees: Vec::new(),
            notes: None,
            sentiment: None,
        },
    )?;
    let again = table(&rollups)?;
    assert!(
        std::sync::Arc::ptr_eq(&first.0, &again.0) && std::sync::Arc::ptr_eq(&first.1, &again.1),
        "kept after a touchpoint"
    );
    // The subscription ends within the period: churned, computed again.
    world.store.update_subscription(
        &write,
        subscription.id,
        mikawaya_domain::subscription::SubscriptionPatch {
            end: Patch::Set(crate::date(2026, 3, 15)),
            ..Default::default()
        },
    )?;
    let after = table(&rollups)?;
    assert_eq!(after.0.overall.churned, 1);
    assert_eq!(
        (&*after.0, &*after.1),
        (
            &mikawaya_app::churn::analyse(&world.store, &read, from, to, Some("tier"))?,
            &mikawaya_app::churn::activity(&world.store, &read, &rollups, from, to, 28)?
        ),
        "equal to a fresh computation"
    );
    // The subscription's change touched no usage key: the activity churn was kept.
    assert!(std::sync::Arc::ptr_eq(&first.1, &after.1), "activity kept");
    // A new event before the period's end moves the usage: computed again (B was active
    // in the 28 days before the period began).
    let more = crate::rollups(&[
        ("A", "u", "Login", "2026-03-20T10:00:00Z"),
        ("B", "u", "Login", "2026-02-20T10:00:00Z"),
    ]);
    let with_b = table(&more)?;
    assert!(!std::sync::Arc::ptr_eq(&after.1, &with_b.1));
    assert_eq!(with_b.1.accounts_at_start, after.1.accounts_at_start + 1);
    Ok(())
}

/// The cohorts page reads the server's kept book (`kept::Books`), the API the store: by
/// every cohort, and after the book changed, both give the same table.
#[test]
fn the_kept_books_cohort_table_equals_the_stores_by_every_cohort() -> TestResult {
    use mikawaya_domain::partner::NewPartner;
    use mikawaya_domain::value::{Name, Slug};
    let world = World::new()?;
    let write = Actor::system().write()?;
    let read = Actor::system().read();
    let partner = world.store.upsert_partner(
        &Actor::system().manage()?,
        NewPartner {
            external_id: None,
            name: Name::parse("代理店 Kita")?,
        },
    )?;
    let (from, to) = (crate::date(2026, 3, 1), crate::date(2026, 4, 1));
    let mut accounts = Vec::new();
    for n in 0..9 {
        let account = world.account(&format!("C{n}"), |a| {
            a.tier = [Some(TouchTier::High), Some(TouchTier::Low), None][n % 3];
            a.plan = Slug::parse(["pro", "basic"][n % 2]).ok();
            a.partner_id = (n % 4 == 0).then_some(partner.id);
        })?;
        let end = (n % 3 == 1).then_some(crate::date(2026, 3, 10 + n as i8));
        world.paying(
            account,
            10.0 * (n + 1) as f64,
            crate::date(2025, n as i8 + 1, 1),
            end,
        )?;
        accounts.push(account);
    }
    let rollups = crate::rollups(&[
        ("C0", "u", "Login", "2026-02-20T10:00:00Z"),
        ("C1", "u", "Login", "2026-03-20T10:00:00Z"),
    ]);
    let sums = mikawaya_app::kept::Sums::default();
    let table = |by: &str| {
        mikawaya_app::churn::cohort_table(&world.store, &read, &rollups, from, to, by, 28, &sums)
    };
    let compare = |what: &str| -> TestResult {
        for by in mikawaya_app::churn::COHORTS {
            let kept = table(by)?;
            let fresh = (
                mikawaya_app::churn::analyse(&world.store, &read, from, to, Some(by))?,
                mikawaya_app::churn::activity(&world.store, &read, &rollups, from, to, 28)?,
            );
            assert_eq!(
                (&*kept.0, &*kept.1),
                (&fresh.0, &fresh.1),
                "{what}, by {by}"
            );
        }
        Ok(())
    };
    compare("at first")?;
    world.store.update_account(
        &write,
        accounts[2],
        AccountPatch {
            tier: Patch::Set(TouchTier::Tech),
            partner_id: Patch::Set(partner.id),
            ..AccountPatch::default()
        },
    )?;
    world.paying(accounts[3], 45.0, crate::date(2026, 3, 5), None)?;
    world.store.delete_account(&write, accounts[4])?;
    compare("after an edit, a new subscription and a deletion")?;
    // C0, active before the period, takes another usage key: activity churn changes.
    let before = table("tier")?;
    world.store.update_account(
        &write,
        accounts[0],
        AccountPatch {
            external_id: Patch::Set(mikawaya_domain::value::ExternalId::parse("Z0")?),
            ..AccountPatch::default()
        },
    )?;
    compare("after a usage key changed")?;
    let after = table("tier")?;
    assert_eq!(after.1.accounts_at_start + 1, before.1.accounts_at_start);
    Ok(())
}
