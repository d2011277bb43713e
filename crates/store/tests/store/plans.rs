//! Success plans: one document and its events per transaction, a stale version refused,
//! partners' plans scoped, people checked against the plan's account, measured progress
//! with its status events and summaries, shares that open only while valid.

use crate::{backends, ok, partner_actor, seed};
use mikawaya_domain::Actor;
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{
    Author, ObjectiveStatus, PlanBody, PlanChange, PlanEventKind, Progress, Target,
};
use mikawaya_domain::value::{Slug, Text};
use mikawaya_store::StoreError;
use mikawaya_store::plans::{NewShare, PlanEdit, PlanEventFilter, PlanFilter, ProgressRow};

fn edit<'a>(body: &'a PlanBody, events: &'a [mikawaya_domain::plan::PlanEvent]) -> PlanEdit<'a> {
    PlanEdit {
        body,
        events,
        author: None,
        at: jiff::Timestamp::now(),
    }
}

fn text(raw: &str) -> Text {
    ok(Text::parse(raw))
}

#[test]
fn a_plan_is_saved_with_its_events_and_a_stale_version_is_refused() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let read = Actor::system().read();
        let now = jiff::Timestamp::now();
        let me = Some(Author::User(mikawaya_domain::UserId::new(1)));
        let mut body = PlanBody::new(text("Onboarding"), Language::Ja);
        let events = ok(body.apply(
            PlanChange::AddObjective {
                title: text("週次アクティブ50人"),
                target: Some(ok(Target::new(
                    ok(Slug::parse("weekly_active")),
                    50.0,
                    jiff::civil::date(2026, 1, 1),
                    jiff::civil::date(2099, 1, 1),
                    jiff::civil::date(2026, 1, 1),
                ))),
                manual_status: None,
            },
            me,
            now,
        ));
        let plan = ok(store.create_plan(&write, world.a.account, edit(&body, &events)));
        assert_eq!(plan.version, 1);
        assert_eq!(plan.body, body);

        // Two people edit version 1: the second save is refused, nothing of it stored.
        let mut first = plan.body.clone();
        let events = ok(first.apply(
            PlanChange::Comment {
                text: text("kickoff done"),
                internal: false,
            },
            me,
            now,
        ));
        let saved = ok(store.save_plan(&write, plan.id, 1, edit(&first, &events)));
        assert_eq!(saved.version, 2);
        let stale = store.save_plan(&write, plan.id, 1, edit(&body, &[]));
        assert!(matches!(stale, Err(StoreError::Conflict { ref field, .. }) if field == "version"));
        assert_eq!(ok(store.get_plan(&read, plan.id)).body, first);
        let history = ok(store.plan_events(
            &read,
            &PlanEventFilter {
                plan_id: Some(plan.id),
                ..PlanEventFilter::default()
            },
        ));
        let kinds: Vec<PlanEventKind> = history.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [PlanEventKind::ObjectiveAdded, PlanEventKind::Commented]
        );

        // A contact of another account cannot be the customer's owner.
        let mut foreign = first.clone();
        foreign.customer_owner_id = Some(world.b.contact);
        let refused = store.save_plan(&write, plan.id, 2, edit(&foreign, &[]));
        assert!(
            matches!(refused, Err(StoreError::Invalid(ref e)) if e.field == "customer_owner_id"),
            "{refused:?}"
        );
    }
}

#[test]
fn partners_see_and_change_only_their_accounts_plans() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let body = PlanBody::new(text("Go live"), Language::En);
        let a_plan = ok(store.create_plan(&write, world.a.account, edit(&body, &[])));
        let b_plan = ok(store.create_plan(&write, world.b.account, edit(&body, &[])));
        let partner = partner_actor(world.partner_a);
        let read = partner.read();
        let mine = ok(store.list_plans(&read, &PlanFilter::default()));
        assert_eq!(mine.iter().map(|p| p.id).collect::<Vec<_>>(), [a_plan.id]);
        assert!(matches!(
            store.get_plan(&read, b_plan.id),
            Err(StoreError::NotFound { .. })
        ));
        let partner_write = ok(partner.write());
        assert!(matches!(
            store.save_plan(&partner_write, b_plan.id, 1, edit(&body, &[])),
            Err(StoreError::NotFound { .. })
        ));
        assert!(
            store
                .create_plan(&partner_write, world.b.account, edit(&body, &[]))
                .is_err()
        );
        let share = NewShare {
            plan_id: b_plan.id,
            contact_id: world.b.contact,
            token_hash: "x".repeat(64),
            expires_at: jiff::Timestamp::now(),
        };
        assert!(store.create_share(&partner_write, &share).is_err());
    }
}

#[test]
fn progress_keeps_status_events_and_the_summary_filters() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let read = Actor::system().read();
        let manage = ok(Actor::system().manage());
        let now = jiff::Timestamp::now();
        let me = Some(Author::User(mikawaya_domain::UserId::new(1)));
        let mut body = PlanBody::new(text("Adoption"), Language::En);
        let target = ok(Target::new(
            ok(Slug::parse("logins")),
            10.0,
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 5, 1),
            jiff::civil::date(2026, 1, 1),
        ));
        ok(body.apply(
            PlanChange::AddObjective {
                title: text("Ten logins a month"),
                target: Some(target),
                manual_status: None,
            },
            me,
            now,
        ));
        ok(body.apply(
            PlanChange::AddMilestone {
                title: text("Training"),
                due_on: jiff::civil::date(2026, 2, 1),
                gate: Vec::new(),
            },
            me,
            now,
        ));
        let plan = ok(store.create_plan(&write, world.direct.account, edit(&body, &[])));
        let off_track = |day: jiff::civil::Date| {
            ok(store.list_plans(
                &read,
                &PlanFilter {
                    objective_off_track: true,
                    milestone_overdue_on: Some(day),
                    ..PlanFilter::default()
                },
            ))
            .len()
        };
        let row = |status: ObjectiveStatus| ProgressRow {
            plan_id: plan.id,
            objective: 1,
            progress: Progress {
                day: jiff::civil::date(2026, 3, 1),
                baseline: Some(0.0),
                value: Some(1.0),
                expected: 0.5,
                actual: Some(0.1),
                status,
                achieved_on: None,
            },
        };
        assert_eq!(
            ok(store.put_plan_progress(
                &manage,
                &[row(ObjectiveStatus::OnTrack)],
                &[],
                jiff::Timestamp::now()
            )),
            1
        );
        assert_eq!(off_track(jiff::civil::date(2026, 3, 1)), 0);
        // The same status again makes no event; a new one does, and the plan is flagged.
        assert_eq!(
            ok(store.put_plan_progress(
                &manage,
                &[row(ObjectiveStatus::OnTrack)],
                &[],
                jiff::Timestamp::now()
            )),
            0
        );
        assert_eq!(
            ok(store.put_plan_progress(
                &manage,
                &[row(ObjectiveStatus::OffTrack)],
                &[],
                jiff::Timestamp::now()
            )),
            1
        );
        assert_eq!(off_track(jiff::civil::date(2026, 3, 1)), 1);
        assert_eq!(
            off_track(jiff::civil::date(2026, 2, 1)),
            0,
            "not overdue on its day"
        );
        // The account lists filter on it, and the in-memory filter agrees.
        let filter = mikawaya_domain::account::AccountFilter {
            plan_off_track: Some(true),
            plan_overdue_on: Some(jiff::civil::date(2026, 3, 1)),
            ..Default::default()
        };
        let listed = ok(store.list_accounts(
            &read,
            &filter,
            Default::default(),
            &mikawaya_store::PageRequest::default(),
        ));
        let ids: Vec<_> = listed.data.iter().map(|a| a.id).collect();
        assert_eq!(ids, [world.direct.account]);
        assert_eq!(ok(store.count_accounts(&read, &filter)), 1);
        let everyone = ok(store.all_accounts(&read));
        assert_eq!(everyone.iter().filter(|a| filter.matches(a)).count(), 1);
        let events = ok(store.plan_events(
            &read,
            &PlanEventFilter {
                kinds: vec![PlanEventKind::ObjectiveStatus],
                ..PlanEventFilter::default()
            },
        ));
        let texts: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["on_track", "off_track"]);
        assert!(events.iter().all(|e| e.author.is_none()));
        let stored = ok(store.plan_progress(&read, Some(plan.id)));
        assert_eq!(stored, vec![row(ObjectiveStatus::OffTrack)]);
    }
}

#[test]
fn a_share_opens_only_while_neither_expired_nor_revoked() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let read = Actor::system().read();
        let body = PlanBody::new(text("Go live"), Language::Ja);
        let plan = ok(store.create_plan(&write, world.a.account, edit(&body, &[])));
        let now = jiff::Timestamp::now();
        let week = ok(now.checked_add(jiff::SignedDuration::from_hours(24 * 7)));
        let share = |hash: &str, contact| NewShare {
            plan_id: plan.id,
            contact_id: contact,
            token_hash: hash.to_owned(),
            expires_at: week,
        };
        // Only a contact of the plan's account.
        let refused = store.create_share(&write, &share("other", world.b.contact));
        assert!(matches!(refused, Err(StoreError::Invalid(ref e)) if e.field == "contact_id"));
        let made = ok(store.create_share(&write, &share("good", world.a.contact)));
        let opened = ok(store.open_share("good", now));
        assert_eq!(opened.map(|s| s.id), Some(made.id));
        assert!(ok(store.open_share("goodx", now)).is_none());
        let later = ok(week.checked_add(jiff::SignedDuration::from_secs(1)));
        assert!(ok(store.open_share("good", later)).is_none(), "expired");
        ok(store.revoke_share(&write, plan.id, made.id));
        assert!(ok(store.open_share("good", now)).is_none(), "revoked");
        let listed = ok(store.plan_shares(&read, plan.id));
        assert!(listed[0].revoked_at.is_some() && listed[0].last_opened_at.is_some());
        let kinds: Vec<PlanEventKind> = ok(store.plan_events(
            &read,
            &PlanEventFilter {
                plan_id: Some(plan.id),
                ..PlanEventFilter::default()
            },
        ))
        .iter()
        .map(|e| e.kind)
        .collect();
        assert_eq!(kinds, [PlanEventKind::Shared, PlanEventKind::ShareRevoked]);
    }
}
