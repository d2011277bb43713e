//! Success plans measured from the data, on a hand-made history whose answers are worked
//! out by hand: a target reached early (and kept), a trajectory at risk, a metric with no
//! value, a due date passed; shared links that open only the plan they were made for.

use crate::{TestResult, World, date, rollups};
use mikawaya_app::plans::{self, NewPlan};
use mikawaya_domain::Actor;
use mikawaya_domain::contact::NewContact;
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{ObjectiveStatus, PlanChange, PlanEventKind, Target};
use mikawaya_domain::value::{Name, Slug, Text};
use mikawaya_store::Store;
use mikawaya_store::plans::PlanEventFilter;

fn objective(
    metric: &str,
    target: f64,
    start: jiff::civil::Date,
    due: jiff::civil::Date,
) -> PlanChange {
    PlanChange::AddObjective {
        title: Text::parse(&format!("{metric} to {target}")).unwrap_or_else(|e| panic!("{e}")),
        target: Some(
            Target::new(
                Slug::parse(metric).unwrap_or_else(|e| panic!("{e}")),
                target,
                start,
                due,
                start,
            )
            .unwrap_or_else(|e| panic!("{e}")),
        ),
        manual_status: None,
    }
}

/// A blank plan in English, starting today.
fn blank(title: &str) -> NewPlan {
    NewPlan {
        title: Some(Text::parse(title).unwrap_or_else(|e| panic!("{e}"))),
        language: Language::En,
        template: None,
        owner_id: None,
        customer_owner_id: None,
        start: None,
    }
}

#[test]
fn objectives_are_measured_from_usage_as_worked_out_by_hand() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let read = Actor::system().read();
    let acme = world.account("ACME", |_| {})?;
    let quiet = world.account("QUIET", |_| {})?;
    // December: one event a day, users u1 and u2 in turn. From 1 January to 19 February:
    // two events a day, users u1 to u4.
    let mut instants = Vec::new();
    let mut day = date(2025, 12, 1);
    while day < date(2026, 2, 20) {
        if day < date(2026, 1, 1) {
            let user = if day.day() % 2 == 0 { "u1" } else { "u2" };
            instants.push((user.to_owned(), format!("{day}T10:00:00Z")));
        } else {
            let n = usize::try_from(day.day()).unwrap_or(0);
            let users = ["u1", "u2", "u3", "u4"];
            instants.push((users[n % 4].to_owned(), format!("{day}T09:00:00Z")));
            instants.push((users[(n + 1) % 4].to_owned(), format!("{day}T15:00:00Z")));
        }
        day = day.tomorrow()?;
    }
    let calls: Vec<(&str, &str, &str, &str)> = instants
        .iter()
        .map(|(user, at)| ("ACME", user.as_str(), "Login", at.as_str()))
        .collect();
    let usage = rollups(&calls);

    let (jan1, apr11) = (date(2026, 1, 1), date(2026, 4, 11)); // 100 days
    let plan = plans::create(
        &world.store,
        &write,
        acme,
        blank("Adoption"),
        jan1,
        jiff::Timestamp::now(),
    )?;
    let now = jiff::Timestamp::now();
    // Activity (events in the 28 days before the day) from 28 on 1 January to 50.
    let plan = plans::change(
        &world.store,
        &write,
        plan.id,
        1,
        objective("activity", 50.0, jan1, apr11),
        now,
    )?;
    // Active users from 2 to 10.
    let plan = plans::change(
        &world.store,
        &write,
        plan.id,
        2,
        objective("active_users", 10.0, jan1, apr11),
        now,
    )?;
    let plan = plans::change(
        &world.store,
        &write,
        plan.id,
        3,
        PlanChange::AddMilestone {
            title: Text::parse("Training")?,
            due_on: date(2026, 2, 1),
            gate: Vec::new(),
        },
        now,
    )?;
    // An account without any usage: days since the last event has no value.
    let silent = plans::create(
        &world.store,
        &write,
        quiet,
        blank("Reactivate"),
        jan1,
        jiff::Timestamp::now(),
    )?;
    plans::change(
        &world.store,
        &write,
        silent.id,
        1,
        objective("idle_days", 2.0, jan1, apr11),
        now,
    )?;
    // A plan whose due date passes: activity to 100 by 1 February.
    let late = plans::create(
        &world.store,
        &write,
        acme,
        blank("Scale"),
        date(2025, 12, 1),
        jiff::Timestamp::now(),
    )?;
    plans::change(
        &world.store,
        &write,
        late.id,
        1,
        objective("activity", 100.0, date(2025, 12, 1), date(2026, 2, 1)),
        now,
    )?;
    // An unknown metric is refused, naming the field.
    let refused = plans::change(
        &world.store,
        &write,
        plan.id,
        4,
        objective("nothing_here", 1.0, jan1, apr11),
        now,
    );
    assert!(matches!(refused, Err(mikawaya_app::AppError::Invalid(ref e)) if e.field == "metric"));

    // 20 February is day 50 of 100: expected progress 0.5.
    plans::measure(
        &world.store,
        &usage,
        date(2026, 2, 20),
        jiff::Timestamp::now(),
    )?;
    let view = plans::view(&world.store, &read, plan.id)?;
    let reached = &view.progress[&1];
    // Window 23 January to 19 February: 28 days × 2 events = 56 ≥ 50, reached early.
    assert_eq!((reached.baseline, reached.value), (Some(28.0), Some(56.0)));
    assert_eq!(reached.status, ObjectiveStatus::Achieved);
    assert_eq!(reached.achieved_on, Some(date(2026, 2, 20)));
    assert_eq!(reached.actual, Some(1.0));
    let users = &view.progress[&2];
    // (4 - 2) / (10 - 2) = 0.25, exactly 0.25 behind: at risk.
    assert_eq!((users.baseline, users.value), (Some(2.0), Some(4.0)));
    assert_eq!((users.expected, users.actual), (0.5, Some(0.25)));
    assert_eq!(users.status, ObjectiveStatus::AtRisk);
    let none = &plans::view(&world.store, &read, silent.id)?.progress[&1];
    assert_eq!((none.value, none.status), (None, ObjectiveStatus::NoData));
    let missed = &plans::view(&world.store, &read, late.id)?.progress[&1];
    assert_eq!(missed.status, ObjectiveStatus::Missed);
    // The missed objective flags its plan; the overdue milestone flags the first.
    let flagged = world.store.list_plans(
        &read,
        &mikawaya_store::plans::PlanFilter {
            objective_off_track: true,
            ..Default::default()
        },
    )?;
    assert_eq!(flagged.iter().map(|p| p.id).collect::<Vec<_>>(), [late.id]);

    // Later, activity falls to nothing: the objective stays achieved on the day it was.
    plans::measure(
        &world.store,
        &usage,
        date(2026, 4, 1),
        jiff::Timestamp::now(),
    )?;
    plans::measure(
        &world.store,
        &usage,
        date(2026, 4, 2),
        jiff::Timestamp::now(),
    )?;
    let kept = &plans::view(&world.store, &read, plan.id)?.progress[&1];
    assert_eq!(
        (kept.value, kept.status),
        (Some(0.0), ObjectiveStatus::Achieved)
    );
    assert_eq!(kept.achieved_on, Some(date(2026, 2, 20)));
    let overdue = world.store.plan_events(
        &read,
        &PlanEventFilter {
            kinds: vec![PlanEventKind::MilestoneOverdue],
            ..PlanEventFilter::default()
        },
    )?;
    assert_eq!(overdue.len(), 1, "recorded once: {overdue:?}");
    Ok(())
}

#[test]
fn a_link_opens_its_plan_for_the_customer_and_nothing_else() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let read = Actor::system().read();
    let acme = world.account("ACME", |_| {})?;
    let other = world.account("OTHER", |_| {})?;
    let contact = world.store.create_contact(
        &write,
        NewContact {
            account_id: acme,
            external_id: None,
            name: Name::parse("山田 花子")?,
            email: None,
            role: None,
            title: None,
            personal_success: None,
            sentiment: None,
            influence: None,
        },
    )?;
    let today = date(2026, 3, 1);
    let plan = plans::create(
        &world.store,
        &write,
        acme,
        NewPlan {
            title: None,
            language: Language::Ja,
            template: Some("onboarding".into()),
            owner_id: None,
            customer_owner_id: Some(contact.id),
            start: None,
        },
        today,
        jiff::Timestamp::now(),
    )?;
    let now = jiff::Timestamp::now();
    let plan = plans::change(
        &world.store,
        &write,
        plan.id,
        1,
        PlanChange::Comment {
            text: Text::parse("社内メモ: 予算は厳しい")?,
            internal: true,
        },
        now,
    )?;
    let another = plans::create(&world.store, &write, other, blank("Other plan"), today, now)?;
    let plan = plans::change(
        &world.store,
        &write,
        plan.id,
        plan.version,
        PlanChange::Deliver { deliverable: 1 },
        now,
    )?;
    let shared = plans::share(
        &world.store,
        &write,
        plan.id,
        contact.id,
        7,
        now,
        "https://cs.example",
    )?;
    assert!(
        shared
            .url
            .starts_with("https://cs.example/shared/plans/pl_")
    );
    let seen = plans::open(&world.store, &shared.token, now)?.ok_or("the link opens nothing")?;
    assert_eq!(seen.plan.id, plan.id);
    assert!(
        seen.plan.body.comments.is_empty(),
        "internal notes stay inside"
    );
    assert!(seen.plan.body.raid.iter().all(|r| !r.internal));
    assert_eq!(seen.plan.body.title.as_str(), "導入から初回の価値実現まで");
    // Tampered, foreign and expired tokens open nothing.
    let mut tampered = shared.token.clone();
    tampered.pop();
    tampered.push('x');
    for token in [tampered.as_str(), "pl_", "../../etc", ""] {
        assert!(plans::open(&world.store, token, now)?.is_none(), "{token}");
    }
    let later = now.checked_add(jiff::SignedDuration::from_hours(24 * 8))?;
    assert!(plans::open(&world.store, &shared.token, later)?.is_none());

    // The customer accepts the kickoff deliverable: the milestone closes, the history
    // and the account's timeline show it.
    let accepted = plans::act(
        &world.store,
        &shared.token,
        PlanChange::Decide {
            deliverable: 1,
            accept: true,
            remark: None,
        },
        now,
        "https://cs.example",
    )?
    .ok_or("the link opens nothing")?;
    assert!(accepted.plan.body.milestones[0].closed_at.is_some());
    // The customer cannot add to the plan.
    let refused = plans::act(
        &world.store,
        &shared.token,
        PlanChange::AddDeliverable {
            title: Text::parse("x")?,
            kind: mikawaya_domain::plan::DeliverableKind::Other,
            url: None,
        },
        now,
        "https://cs.example",
    );
    assert!(refused.is_err());
    let actions = plans::customer_actions(&world.store, &read, acme)?;
    let kinds: Vec<PlanEventKind> = actions.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            PlanEventKind::DeliverableAccepted,
            PlanEventKind::MilestoneClosed
        ]
    );
    assert!(plans::customer_actions(&world.store, &read, other)?.is_empty());
    // Revoked: nothing, and the other plan was never reachable.
    world.store.revoke_share(&write, plan.id, shared.share.id)?;
    assert!(plans::open(&world.store, &shared.token, now)?.is_none());
    assert_ne!(another.id, plan.id);
    Ok(())
}

#[test]
fn churn_of_accounts_with_plans_on_track_against_the_others_as_worked_out_by_hand() -> TestResult {
    use mikawaya_domain::plan::{PlanEvent, Progress};
    use mikawaya_store::journey::{StageMove, StageSource};
    use mikawaya_store::plans::ProgressRow;
    let world = World::new()?;
    let write = Actor::system().write()?;
    let manage = Actor::system().manage()?;
    let today = jiff::Zoned::now().date();
    // Statuses are read 10 days from now; churn counted over the 90 days to 100 days out.
    let (read_on, as_of) = (
        today.checked_add(jiff::Span::new().days(10))?,
        today.checked_add(jiff::Span::new().days(100))?,
    );
    let noon = |day: jiff::civil::Date| -> Result<jiff::Timestamp, Box<dyn std::error::Error>> {
        Ok(day
            .at(12, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)?
            .timestamp())
    };
    // Four accounts on track (one churns), four behind (three churn), one whose objective
    // never had a status (left out), and one on track on the day but churned before it
    // (left out).
    let cases: [(&str, ObjectiveStatus, Option<i64>); 10] = [
        ("T1", ObjectiveStatus::OnTrack, None),
        ("T2", ObjectiveStatus::Achieved, None),
        ("T3", ObjectiveStatus::OnTrack, None),
        ("T4", ObjectiveStatus::OnTrack, Some(50)),
        ("B1", ObjectiveStatus::OffTrack, Some(20)),
        ("B2", ObjectiveStatus::AtRisk, Some(60)),
        ("B3", ObjectiveStatus::Missed, Some(99)),
        ("B4", ObjectiveStatus::OffTrack, None),
        ("N1", ObjectiveStatus::NoData, None),
        ("C1", ObjectiveStatus::OnTrack, Some(5)),
    ];
    let mut moves = Vec::new();
    for (key, status, churn_in) in cases {
        let account = world.account(key, |_| {})?;
        let plan = plans::create(
            &world.store,
            &write,
            account,
            blank(key),
            today,
            jiff::Timestamp::now(),
        )?;
        let plan = plans::change(
            &world.store,
            &write,
            plan.id,
            1,
            objective("activity", 50.0, today, as_of),
            jiff::Timestamp::now(),
        )?;
        if key != "N1" {
            let row = ProgressRow {
                plan_id: plan.id,
                objective: 1,
                progress: Progress {
                    day: today,
                    baseline: None,
                    value: None,
                    expected: 0.0,
                    actual: None,
                    status,
                    achieved_on: None,
                },
            };
            let event = PlanEvent {
                kind: PlanEventKind::ObjectiveStatus,
                item: Some(1),
                text: status.as_str().to_owned(),
            };
            world
                .store
                .put_plan_progress(&manage, &[row], &[(plan.id, event)], noon(today)?)?;
        }
        if let Some(days) = churn_in {
            moves.push(StageMove {
                account_id: account,
                stage: Slug::parse("churned")?,
                day: today.checked_add(jiff::Span::new().days(days))?,
                source: StageSource::Hand,
            });
        }
    }
    world.store.enter_stages(&write, &moves)?;
    let found = plans::churn_by_plan_status(&world.store, &Actor::system().read(), as_of, 90)?;
    assert_eq!((found.from, found.to), (read_on, as_of));
    let c = &found.comparison;
    // On track: T1-T4, one churned (T4 on day 50): 1/4. Behind: B1-B4, three churned: 3/4.
    assert_eq!((c.a.n, c.a.successes, c.b.n, c.b.successes), (4, 1, 4, 3));
    // Difference -0.5; standard error √(0.25·0.75/4 · 2) = √0.09375.
    let se = (2.0f64 * 0.25 * 0.75 / 4.0).sqrt();
    assert_eq!(c.difference, Some(-0.5));
    let (low, high) = c.ci95.ok_or("an interval")?;
    assert!((low - (-0.5 - 1.96 * se)).abs() < 1e-12 && (high - (-0.5 + 1.96 * se)).abs() < 1e-12);
    // Bad input names the field.
    match plans::churn_by_plan_status(&world.store, &Actor::system().read(), as_of, 0) {
        Err(mikawaya_app::AppError::Invalid(invalid)) => assert_eq!(invalid.field, "horizon_days"),
        other => panic!("{other:?}"),
    }
    Ok(())
}
