//! Today from a hand-made account history: the reasons' sentences and numbers, in both
//! languages, and the priority, computed by hand.

use crate::{TestResult, World, date, rollups};
use mikawaya_app::today::{Policy, Reason, Whose, today};
use mikawaya_domain::language::Language;
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::{Currency, Money, Text};
use mikawaya_domain::work::{NewTask, Priority, SurveyKind};
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::Store;
use mikawaya_store::work::{SignalRow, Snooze};

fn instant(raw: &str) -> jiff::Timestamp {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn signal(account_id: AccountId, health: f64, change: Option<f64>) -> SignalRow {
    SignalRow {
        account_id,
        health: Some(health),
        health_change: change,
        forecast_risk: None,
        forecast_factors: Vec::new(),
    }
}

#[test]
fn reasons_and_priority_come_from_the_accounts_data() -> TestResult {
    let world = World::new()?;
    let owner = world.csm("aoi@example.jp", "Aoi")?;
    let day = date(2026, 6, 1);
    let acme = world.account("acme", |a| {
        a.owner_id = Some(owner);
        a.mrr = Money::new(96_000.0).unwrap_or(Money::ZERO);
        a.currency = Currency::parse("JPY").unwrap_or_default();
        a.renewal_date = Some(date(2026, 6, 20));
    })?;
    let calm = world.account("calm", |a| a.owner_id = Some(owner))?;
    let resting = world.account("resting", |a| a.owner_id = Some(owner))?;
    let write = Actor::system().write()?;
    // Five users in the 30 days before the last 30, two in the last 30.
    let mut calls = Vec::new();
    for user in ["u1", "u2", "u3", "u4", "u5"] {
        calls.push(("acme", user, "Report Created", "2026-04-10T09:00:00Z"));
    }
    calls.push(("acme", "u1", "Report Created", "2026-05-25T09:00:00Z"));
    calls.push(("acme", "u2", "Report Created", "2026-06-01T09:00:00Z"));
    let usage = rollups(&calls);
    // Last touched 45 days before; an NPS of 3 on 05-20; a task overdue since 05-25.
    for (account, at) in [
        (acme, "2026-04-17T10:00:00Z"),
        (calm, "2026-05-31T10:00:00Z"),
        (resting, "2026-05-31T10:00:00Z"),
    ] {
        world.store.create_touchpoint(
            &write,
            NewTouchpoint {
                account_id: account,
                kind: TouchpointKind::Call,
                occurred_at: instant(at),
                user_id: Some(owner),
                summary: Some(Text::parse("check-in")?),
                attendees: Vec::new(),
                notes: None,
                sentiment: None,
            },
        )?;
    }
    world.store.add_survey_response(
        &write,
        mikawaya_domain::work::NewSurveyResponse {
            account_id: acme,
            contact_id: None,
            kind: SurveyKind::Nps,
            score: 3,
            comment: None,
            answered_at: instant("2026-05-20T03:00:00Z"),
        },
    )?;
    world.store.create_task(
        &write,
        NewTask {
            account_id: acme,
            owner_id: Some(owner),
            title: Text::parse("Send the usage review")?,
            instructions: None,
            priority: Priority::Normal,
            due_on: date(2026, 5, 25),
            run_id: None,
            phase: None,
            deliverable: None,
        },
    )?;
    // Health 55 → 35 with a forecast of 34%; calm is green; resting is red but snoozed.
    let mut acme_signal = signal(acme, 35.0, Some(-20.0));
    acme_signal.forecast_risk = Some(0.34);
    acme_signal.forecast_factors = vec!["reports_created".into(), "active_users".into()];
    world.store.put_signals(
        &Actor::system().manage()?,
        day,
        &[
            acme_signal,
            signal(calm, 80.0, Some(2.0)),
            signal(resting, 20.0, None),
        ],
    )?;
    world.store.snooze(
        &write,
        &Snooze {
            account_id: resting,
            user_id: owner,
            until: date(2026, 6, 5),
            reason: Text::parse("on holiday until Friday")?,
            created_at: instant("2026-06-01T08:00:00Z"),
        },
    )?;

    let day_of = |at: jiff::Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let list = today(
        &world.store,
        &Actor::system().read(),
        &usage,
        Whose::Owner(owner),
        day,
        &day_of,
        &Policy::default(),
    )?;
    assert_eq!(list.accounts, 3);
    assert_eq!(
        list.items.len(),
        1,
        "only acme needs attention: {:?}",
        list.items
    );
    let item = &list.items[0];
    assert_eq!(item.account.id, acme);
    let english: Vec<String> = item
        .reasons
        .iter()
        .map(|r| r.sentence(Language::En))
        .collect();
    assert_eq!(
        english,
        [
            "renewal in 19 days, ARR ¥1,152,000",
            "active users down 60% in 30 days (5 → 2)",
            "health down 20 points in 30 days (55 → 35)",
            "detractor (NPS 3) on 05-20",
            "1 task overdue",
            "no touch for 45 days",
            "forecast churn risk 34%: reports created, active users",
        ]
    );
    let japanese: Vec<String> = item
        .reasons
        .iter()
        .map(|r| r.sentence(Language::Ja))
        .collect();
    assert_eq!(
        japanese,
        [
            "19日後に更新、ARR ¥1,152,000",
            "アクティブユーザーが30日で60%減少（5 → 2）",
            "ヘルススコアが30日で20ポイント低下（55 → 35）",
            "5月20日のNPSで批判者（3点）",
            "期限切れタスク1件",
            "45日間接触なし",
            "解約予測リスク34%：reports created、active users",
        ]
    );
    // risk = max(1 − 35/100, 0.34) = 0.65; urgency = 1 + 1 + 0.5 + 0.5 + 0.5 + 0.25 + 0.25.
    assert!((item.priority.risk - 0.65).abs() < 1e-9);
    assert_eq!(item.priority.arr, 1_152_000.0);
    assert_eq!(item.priority.urgency, 4.0);
    assert!((item.priority.value - 0.65 * 1_152_000.0 * 4.0).abs() < 1e-6);
    // The snoozed account is kept apart, with its reason.
    assert_eq!(list.snoozed.len(), 1);
    assert_eq!(list.snoozed[0].0.account.id, resting);
    assert_eq!(list.snoozed[0].0.reasons, [Reason::HealthRed { score: 20 }]);
    assert_eq!(list.snoozed[0].1.reason.as_str(), "on holiday until Friday");
    // The renewal in 19 days and the overdue task are listed beside.
    assert_eq!(
        list.renewals.iter().map(|a| a.id).collect::<Vec<_>>(),
        [acme]
    );
    assert_eq!(list.tasks_due.len(), 1);
    // After the snooze ends, the account is back.
    let later = today(
        &world.store,
        &Actor::system().read(),
        &usage,
        Whose::Owner(owner),
        date(2026, 6, 6),
        &day_of,
        &Policy::default(),
    )?;
    assert!(later.items.iter().any(|i| i.account.id == resting));
    Ok(())
}

#[test]
fn a_touch_logged_now_ends_the_no_touch_reason() -> TestResult {
    let world = World::new()?;
    let owner = world.csm("aoi@example.jp", "Aoi")?;
    let quiet = world.account("quiet", |a| a.owner_id = Some(owner))?;
    let usage = rollups(&[]);
    let day = date(2026, 6, 1);
    let day_of = |at: jiff::Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let read = Actor::system().read();
    let before = today(
        &world.store,
        &read,
        &usage,
        Whose::Owner(owner),
        day,
        &day_of,
        &Policy::default(),
    )?;
    assert_eq!(before.items[0].reasons, [Reason::NoTouch { days: None }]);
    assert_eq!(
        before.items[0].reasons[0].sentence(Language::Ja),
        "接触の記録なし"
    );
    world.store.create_touchpoint(
        &Actor::system().write()?,
        NewTouchpoint {
            account_id: quiet,
            kind: TouchpointKind::Meeting,
            occurred_at: instant("2026-06-01T05:00:00Z"),
            user_id: Some(owner),
            summary: None,
            attendees: Vec::new(),
            notes: None,
            sentiment: None,
        },
    )?;
    let after = today(
        &world.store,
        &read,
        &usage,
        Whose::Owner(owner),
        day,
        &day_of,
        &Policy::default(),
    )?;
    assert!(after.items.is_empty(), "{:?}", after.items);
    let account = world.store.get_account(&read, quiet)?;
    assert_eq!(
        account.signals.last_touch,
        Some(instant("2026-06-01T05:00:00Z"))
    );
    Ok(())
}
