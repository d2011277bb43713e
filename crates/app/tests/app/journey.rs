//! The customer journey on a real store: rules replayed over a hand-made history and moved
//! day by day, moves by hand, and the journey page's numbers (time in stage, stuck
//! accounts, conversion, churn from a stage) equal to values worked out by hand.

use crate::{TestResult, World, date, rollups};
use jiff::civil::Date;
use mikawaya_app::AppError;
use mikawaya_app::journey;
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::value::{Money, Slug};
use mikawaya_domain::{AccountId, Actor};
use mikawaya_playbooks::journey::{Journey, JourneyStage, StageRule};
use mikawaya_playbooks::spec::Localized;
use mikawaya_store::journey::{StageMove, StageSource};
use mikawaya_store::{PageRequest, Store};

/// A stage to pass through in 30 days (advocacy: a place to stay, no target).
fn stage(key: &str, rule: Option<StageRule>) -> JourneyStage {
    JourneyStage {
        key: key.to_owned(),
        name: Localized {
            en: key.to_owned(),
            ja: None,
        },
        target_days: (key != "advocacy").then_some(30),
        rule,
    }
}

fn small_journey(window_days: u32) -> Journey {
    Journey {
        stages: vec![
            stage("onboarding", None),
            stage(
                "adoption",
                Some(StageRule {
                    event: Some("Integration Connected".into()),
                    ..StageRule::default()
                }),
            ),
            stage(
                "renewal",
                Some(StageRule {
                    renewal_within_days: Some(30),
                    ..StageRule::default()
                }),
            ),
            stage("advocacy", None),
        ],
        segment: mikawaya_playbooks::journey::SegmentBy::Tier,
        window_days,
    }
}

fn entries(world: &World, account: AccountId) -> Vec<(Date, String)> {
    world
        .store
        .stage_entries(&Actor::system().read(), Some(account))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| (e.entered_on, e.stage.to_string()))
        .collect()
}

fn stage_of(world: &World, account: AccountId) -> Option<String> {
    world
        .store
        .get_account(&Actor::system().read(), account)
        .unwrap_or_else(|e| panic!("{e}"))
        .stage
        .map(|s| s.to_string())
}

#[test]
fn rules_replayed_and_moved_day_by_day_as_worked_out_by_hand() -> TestResult {
    let world = World::new()?;
    let manage = Actor::system().manage()?;
    let write = Actor::system().write()?;
    journey::save(&world.store, &manage, &small_journey(90), date(2026, 1, 1))?;
    let started = date(2026, 1, 1);
    let a = world.account("A", |a| {
        a.contract_start = Some(started);
        a.renewal_date = Some(date(2026, 6, 30));
    })?;
    let b = world.account("B", |a| a.contract_start = Some(started))?;
    let c = world.account("C", |a| {
        a.contract_start = Some(started);
        a.contract_end = Some(date(2026, 3, 1));
        a.stage = Some(Slug::parse("churned").unwrap_or_else(|e| panic!("{e}")));
    })?;
    let usage = rollups(&[
        ("A", "u1", "Integration Connected", "2026-01-20T10:00:00Z"),
        ("C", "u1", "Integration Connected", "2026-01-10T10:00:00Z"),
        ("B", "u1", "Logged In", "2026-01-10T10:00:00Z"),
    ]);
    journey::replay(&world.store, &usage, started, date(2026, 6, 15), 7)?;
    // Weekly from 1 January. A connected on 20 January: seen before 22 January (the
    // fourth step); its renewal on 30 June is within 30 days from 4 June (26 days), not
    // from 28 May (33).
    assert_eq!(
        entries(&world, a),
        [
            (started, "onboarding".to_owned()),
            (date(2026, 1, 22), "adoption".to_owned()),
            (date(2026, 6, 4), "renewal".to_owned()),
        ]
    );
    assert_eq!(stage_of(&world, a).as_deref(), Some("renewal"));
    // B never connected: onboarding all along.
    assert_eq!(entries(&world, b), [(started, "onboarding".to_owned())]);
    // C connected on 10 January (seen before 15 January) and churned when its contract
    // ended on 1 March; its churned entry from the import stays on the day it was made.
    let c_entries = entries(&world, c);
    assert_eq!(
        c_entries[..3],
        [
            (started, "onboarding".to_owned()),
            (date(2026, 1, 15), "adoption".to_owned()),
            (date(2026, 3, 1), "churned".to_owned()),
        ]
    );
    assert_eq!(stage_of(&world, c).as_deref(), Some("churned"));

    // By hand: B becomes an advocate on 10 June; a stage the journey lacks, or a day to
    // come, is refused and changes nothing.
    let today = date(2026, 6, 20);
    journey::set_stage(
        &world.store,
        &write,
        b,
        "advocacy",
        Some(date(2026, 6, 10)),
        today,
    )?;
    for (stage, day, field) in [
        ("nope", None, "stage"),
        ("renewal", Some(date(2026, 6, 21)), "day"),
    ] {
        match journey::set_stage(&world.store, &write, a, stage, day, today) {
            Err(AppError::Invalid(invalid)) => assert_eq!(invalid.field, field),
            other => panic!("{stage}: {other:?}"),
        }
    }
    assert_eq!(entries(&world, a).len(), 3);

    // On 5 July A's renewal has passed: the rules put it back in adoption. B, moved by
    // hand into a stage without a rule, and C, churned, stay.
    let moved = journey::advance(&world.store, &usage, date(2026, 7, 5))?;
    assert_eq!(moved.moved, 1);
    assert_eq!(stage_of(&world, a).as_deref(), Some("adoption"));
    assert_eq!(stage_of(&world, b).as_deref(), Some("advocacy"));
    assert_eq!(stage_of(&world, c).as_deref(), Some("churned"));
    // The day after, nothing moves.
    assert_eq!(
        journey::advance(&world.store, &usage, date(2026, 7, 6))?.moved,
        0
    );
    Ok(())
}

#[test]
fn the_standard_journey_moves_nobody_until_a_journey_is_saved() -> TestResult {
    let world = World::new()?;
    let a = world.account("A", |a| {
        a.stage = Some(Slug::parse("value").unwrap_or_else(|e| panic!("{e}")));
    })?;
    let usage = rollups(&[("A", "u1", "Logged In", "2026-01-10T10:00:00Z")]);
    assert_eq!(
        journey::advance(&world.store, &usage, date(2026, 2, 1))?.moved,
        0
    );
    assert_eq!(stage_of(&world, a).as_deref(), Some("value"));
    // A journey naming a metric that does not exist is refused, naming the field.
    let mut wrong = small_journey(90);
    wrong.stages[1].rule = Some(StageRule {
        metric: Some("no_such_metric".into()),
        at_least: Some(1.0),
        ..StageRule::default()
    });
    match journey::save(
        &world.store,
        &Actor::system().manage()?,
        &wrong,
        date(2026, 2, 1),
    ) {
        Err(AppError::Invalid(invalid)) => assert_eq!(invalid.field, "stages[1].rule.metric"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        journey::definition(&world.store, &Actor::system().read())?.1,
        0
    );
    Ok(())
}

#[test]
fn time_in_stage_stuck_accounts_and_conversion_as_worked_out_by_hand() -> TestResult {
    let world = World::new()?;
    let manage = Actor::system().manage()?;
    let write = Actor::system().write()?;
    // Stages set by hand only, so the daily run below moves nobody and only marks.
    let mut by_hand = small_journey(30);
    for stage in &mut by_hand.stages {
        stage.rule = None;
    }
    journey::save(&world.store, &manage, &by_hand, date(2026, 3, 2))?;
    // Four high-touch accounts onboarded on 1 January and reached adoption after 10, 20,
    // 30 and 40 days; account 4 churned on 15 February; account 5 has been onboarding
    // since 26 January; account 6 (low touch) since 10 January.
    let start = date(2026, 1, 1);
    let mut ids = Vec::new();
    let mut moves = Vec::new();
    let step = |account: AccountId, stage: &str, day: Date| StageMove {
        account_id: account,
        stage: Slug::parse(stage).unwrap_or_else(|e| panic!("{e}")),
        day,
        source: StageSource::Import,
    };
    for (n, days) in [(1, 10), (2, 20), (3, 30), (4, 40)] {
        let id = world.account(&format!("H{n}"), |a| {
            a.mrr = Money::new(100.0).unwrap_or_else(|e| panic!("{e}"));
        })?;
        moves.push(step(id, "onboarding", start));
        moves.push(step(
            id,
            "adoption",
            start.checked_add(jiff::Span::new().days(days))?,
        ));
        ids.push(id);
    }
    moves.push(step(ids[3], "churned", date(2026, 2, 15)));
    let stuck = world.account("H5", |a| {
        a.mrr = Money::new(1000.0).unwrap_or_else(|e| panic!("{e}"));
    })?;
    moves.push(step(stuck, "onboarding", date(2026, 1, 26)));
    let low = world.account("L6", |a| {
        a.tier = Some(mikawaya_domain::account::TouchTier::Low);
    })?;
    moves.push(step(low, "onboarding", date(2026, 1, 10)));
    world.store.enter_stages(&write, &moves)?;

    let today = date(2026, 3, 2); // 60 days after 1 January
    let report = journey::report(&world.store, &Actor::system().read(), today, 60)?;
    assert_eq!((report.from, report.to), (start, date(2026, 3, 3)));
    let onboarding = &report.stages[0];
    // Now in onboarding: accounts 5 and 6; ARR 12 × 1,000 + 0.
    assert_eq!((onboarding.accounts, onboarding.arr), (2, 12_000.0));
    // Completed stays 10, 20, 30, 40 days: median 25, 75th percentile 32.5.
    assert_eq!(onboarding.time.completed, 4);
    assert_eq!(
        (onboarding.time.median, onboarding.time.p75),
        (Some(25.0), Some(32.5))
    );
    // Account 5's 35 days are above its segment's 32.5: stuck. The low-touch segment has
    // no completed stay, so account 6 is not. In adoption the only completed stay is
    // account 4's 5 days (10 to 15 February): accounts 1-3, there for 50, 40 and 30 days,
    // are stuck too. Longest over the percentile first: 45, 35, 25, then 2.5 days.
    let found: Vec<(AccountId, &str, i64)> = report
        .stuck
        .iter()
        .map(|s| (s.account_id, s.stage.as_str(), s.days))
        .collect();
    assert_eq!(
        found,
        [
            (ids[0], "adoption", 50),
            (ids[1], "adoption", 40),
            (ids[2], "adoption", 30),
            (stuck, "onboarding", 35),
        ]
    );
    assert_eq!(report.stuck[3].p75, 32.5);
    // Adoption without target days is a place to stay: nobody is stuck there.
    let mut steady = by_hand.clone();
    steady.stages[1].target_days = None;
    journey::save(&world.store, &manage, &steady, today)?;
    let report = journey::report(&world.store, &Actor::system().read(), today, 60)?;
    let found: Vec<AccountId> = report.stuck.iter().map(|s| s.account_id).collect();
    assert_eq!(found, [stuck]);
    journey::save(&world.store, &manage, &by_hand, today)?;
    // Entered onboarding in the period: 6; reached adoption within 30 days: accounts 1-3.
    let conversion = onboarding.conversion.clone().ok_or("no conversion")?;
    assert_eq!((conversion.entered, conversion.converted), (6, 3));
    assert_eq!(conversion.rate(), Some(0.5));
    // Entered adoption in the period: 1-4 (11 Jan to 10 Feb); account 4 churned 5 days
    // later; nobody reached renewal.
    let adoption = &report.stages[1];
    assert_eq!(adoption.accounts, 3);
    assert_eq!(
        (
            adoption.conversion.as_ref().map(|c| c.entered),
            adoption.churned
        ),
        (Some(4), 1)
    );
    assert_eq!(report.churned_accounts, 1);

    // The daily run marks the four stuck; the portfolio finds it by that filter.
    let usage = rollups(&[]);
    let advanced = journey::advance(&world.store, &usage, today)?;
    assert_eq!((advanced.moved, advanced.stuck), (0, 4));
    let filter = AccountFilter {
        stage_stuck: Some(true),
        ..AccountFilter::default()
    };
    let found = world.store.list_accounts(
        &Actor::system().read(),
        &filter,
        mikawaya_domain::account::AccountSort::default(),
        &PageRequest::default(),
    )?;
    assert_eq!(
        world
            .store
            .count_accounts(&Actor::system().read(), &filter)?,
        4
    );
    let mut found: Vec<AccountId> = found.data.iter().map(|a| a.id).collect();
    found.sort();
    assert_eq!(found, [ids[0], ids[1], ids[2], stuck]);
    Ok(())
}
