//! The team's workload from a book summed by hand, and the kept sums brought up to date
//! with only the changed accounts: after every kind of change they equal sums made from
//! nothing kept.

use crate::{TestResult, World, date};
use mikawaya_app::kept::Sums;
use mikawaya_app::team::{BookGroup, Effort, book_groups, team};
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::account::{AccountPatch, TouchTier};
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::subscription::SubscriptionPatch;
use mikawaya_domain::value::{Currency, Money, Name};
use mikawaya_domain::{Actor, Patch};
use mikawaya_store::Store;
use mikawaya_store::work::SignalRow;

fn score(
    world: &World,
    day: jiff::civil::Date,
    rows: &[(mikawaya_domain::AccountId, f64)],
) -> TestResult {
    let rows: Vec<SignalRow> = rows
        .iter()
        .map(|(account_id, health)| SignalRow {
            account_id: *account_id,
            health: Some(*health),
            health_change: None,
            forecast_risk: None,
            forecast_factors: Vec::new(),
        })
        .collect();
    world
        .store
        .put_signals(&Actor::system().manage()?, day, &rows)?;
    Ok(())
}

#[test]
fn the_book_is_summed_per_owner_tier_currency_and_paying() -> TestResult {
    let world = World::new()?;
    let csm = world.csm("ren@example.jp", "Ren")?;
    let partner = world
        .store
        .upsert_partner(
            &Actor::system().manage()?,
            NewPartner {
                external_id: None,
                name: Name::parse("Reseller")?,
            },
        )?
        .id;
    let day = date(2026, 3, 1);
    let after = |days: i64| day.checked_add(jiff::Span::new().days(days));
    let start = date(2025, 1, 1);
    // Paying, renewing in 30 days, no health: at risk.
    let a = world.account("a", |a| {
        a.owner_id = Some(csm);
        a.mrr = Money::new(100.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("USD").unwrap_or_default();
        a.renewal_date = after(30).ok();
    })?;
    world.paying(a, 100.0, start, None)?;
    // Paying, renewing after the 90 days.
    let b = world.account("b", |a| {
        a.owner_id = Some(csm);
        a.mrr = Money::new(50.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("USD").unwrap_or_default();
        a.renewal_date = after(100).ok();
    })?;
    world.paying(b, 50.0, start, None)?;
    // Its subscription ended the day before: not paying.
    let c = world.account("c", |a| {
        a.owner_id = Some(csm);
        a.mrr = Money::new(200.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("USD").unwrap_or_default();
    })?;
    world.paying(c, 200.0, start, Some(day))?;
    // A subscription of MRR 0 does not make it paying; no owner, no tier, in yen.
    let d = world.account("d", |a| {
        a.tier = None;
        a.mrr = Money::new(10.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("JPY").unwrap_or_default();
        a.renewal_date = after(5).ok();
    })?;
    world.paying(d, 0.0, start, None)?;
    // A partner's, low touch, paying, renewing in 10 days with health 80: not at risk.
    let e = world.account("e", |a| {
        a.owner_id = Some(csm);
        a.tier = Some(TouchTier::Low);
        a.partner_id = Some(partner);
        a.mrr = Money::new(20.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("USD").unwrap_or_default();
        a.renewal_date = after(10).ok();
    })?;
    world.paying(e, 20.0, start, None)?;
    score(&world, day, &[(e, 80.0)])?;
    let group =
        |owner, tier, currency: &str, paying, counts: (u64, f64, u64, f64, f64)| BookGroup {
            owner_id: owner,
            tier,
            currency: Currency::parse(currency).unwrap_or_default(),
            paying,
            accounts: counts.0,
            arr: counts.1,
            renewals: counts.2,
            renewing_arr: counts.3,
            renewing_arr_at_risk: counts.4,
        };
    let sums = Sums::default();
    let renewals = day..=after(90)?;
    let book = sums.books.current(&world.store, &Actor::system().read())?;
    assert_eq!(
        book_groups(&book, day, &renewals, 70.0),
        vec![
            group(None, None, "JPY", false, (1, 120.0, 1, 120.0, 120.0)),
            group(
                Some(csm),
                Some(TouchTier::High),
                "USD",
                false,
                (1, 2400.0, 0, 0.0, 0.0)
            ),
            group(
                Some(csm),
                Some(TouchTier::High),
                "USD",
                true,
                (2, 1800.0, 1, 1200.0, 1200.0)
            ),
            group(
                Some(csm),
                Some(TouchTier::Low),
                "USD",
                true,
                (1, 240.0, 1, 240.0, 0.0)
            ),
        ]
    );
    let partners = Actor::new(None, Role::Partner, Some(partner), Scope::Read)?;
    let book = sums.books.current(&world.store, &partners.read())?;
    assert_eq!(
        book_groups(&book, day, &renewals, 70.0),
        vec![group(
            Some(csm),
            Some(TouchTier::Low),
            "USD",
            true,
            (1, 240.0, 1, 240.0, 0.0)
        )],
        "a partner's own accounts only"
    );
    Ok(())
}

/// Each kind of change to the book, then the team as kept and as summed from nothing.
#[test]
fn kept_sums_follow_each_change_to_the_book() -> TestResult {
    let world = World::new()?;
    let csm = world.csm("ren@example.jp", "Ren")?;
    let day = date(2026, 3, 1);
    let start = date(2025, 1, 1);
    let write = Actor::system().write()?;
    let read = Actor::system().read();
    let mut accounts = Vec::new();
    for n in 0..12 {
        let account = world.account(&format!("k{n}"), |a| {
            a.owner_id = (n % 3 != 0).then_some(csm);
            a.tier = [Some(TouchTier::High), Some(TouchTier::Low), None][n % 3];
            a.mrr = Money::new(10.0 * (n + 1) as f64).unwrap_or(Money::ZERO);
            a.renewal_date = day.checked_add(jiff::Span::new().days(7 * n as i64)).ok();
        })?;
        world.paying(account, 10.0, start, None)?;
        accounts.push(account);
    }
    let kept = Sums::default();
    let check = |what: &str| -> TestResult {
        let kept_team = team(&world.store, &read, day, Effort::default(), &kept)?;
        let fresh = team(
            &world.store,
            &read,
            day,
            Effort::default(),
            &Sums::default(),
        )?;
        assert_eq!(kept_team.workload, fresh.workload, "after {what}");
        Ok(())
    };
    check("the first view")?;
    let before = kept.books.current(&world.store, &read)?;
    assert!(
        std::sync::Arc::ptr_eq(&before, &kept.books.current(&world.store, &read)?),
        "nothing changed: the same book"
    );
    world.store.update_account(
        &write,
        accounts[1],
        AccountPatch {
            owner_id: Patch::Clear,
            mrr: Some(Money::new(999.0)?),
            ..AccountPatch::default()
        },
    )?;
    check("an owner and an MRR changed")?;
    let subscription = world.paying(accounts[2], 25.0, date(2026, 2, 1), None)?;
    check("a new subscription")?;
    world.store.update_subscription(
        &write,
        subscription.id,
        SubscriptionPatch {
            end: Patch::Set(date(2026, 2, 20)),
            ..SubscriptionPatch::default()
        },
    )?;
    check("a subscription ended")?;
    score(&world, day, &[(accounts[3], 20.0), (accounts[4], 95.0)])?;
    check("two accounts scored")?;
    world.store.delete_account(&write, accounts[5])?;
    check("an account deleted")?;
    world.account("late", |a| {
        a.owner_id = Some(csm);
        a.mrr = Money::new(5.0).unwrap_or(Money::ZERO);
    })?;
    check("an account created")?;
    let after = kept.books.current(&world.store, &read)?;
    assert_eq!(after.accounts.len(), 12, "one deleted, one created");
    assert!(after.stamp > before.stamp);
    Ok(())
}

/// The worker's call: nothing is read until a leader's view kept the vendor's book; then
/// each call brings it to the store's book stamp.
#[test]
fn the_vendors_kept_book_is_brought_up_to_date_once_kept() -> TestResult {
    let world = World::new()?;
    let read = Actor::system().read();
    let account = world.account("w1", |_| {})?;
    let kept = Sums::default();
    assert!(!kept.books.keep_current(&world.store)?, "nothing kept yet");
    let before = kept.books.current(&world.store, &read)?;
    world.store.update_account(
        &Actor::system().write()?,
        account,
        AccountPatch {
            mrr: Some(Money::new(42.0)?),
            ..AccountPatch::default()
        },
    )?;
    assert_eq!(
        kept.books
            .kept(mikawaya_domain::Visibility::All)
            .map(|b| b.stamp),
        Some(before.stamp),
        "kept as it was until brought up to date"
    );
    assert!(kept.books.keep_current(&world.store)?);
    let after = kept
        .books
        .kept(mikawaya_domain::Visibility::All)
        .ok_or("kept")?;
    assert!(after.stamp > before.stamp);
    assert_eq!(after.stamp, world.store.book_stamp()?);
    assert_eq!(after.accounts.get(&account).map(|f| f.mrr), Some(42.0));
    Ok(())
}
