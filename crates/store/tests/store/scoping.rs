//! Partner scoping through every method that takes an access proof: partner A sees its own
//! rows and never partner B's or the direct account's; B's rows behave as if they did not
//! exist (`NotFound`), and nothing of B's changes through A.

use crate::{DAY, World, backends, new_task, ok, partner_actor, seed};
use mikawaya_domain::account::{AccountFilter, AccountPatch, AccountSort};
use mikawaya_domain::contact::{ContactPatch, NewContact};
use mikawaya_domain::subscription::{NewSubscription, SubscriptionPatch, Term};
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::{Money, Name, Slug};
use mikawaya_domain::work::{NewSurveyResponse, SurveyKind, TaskPatch};
use mikawaya_domain::{AccountId, Actor, Patch};
use mikawaya_store::work::{Pulse, RunFilter, TaskFilter};
use mikawaya_store::{
    ContactFilter, PageRequest, StoreError, SubscriptionFilter, TouchpointFilter,
};
use std::collections::BTreeSet;

fn not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{what}: expected not found, got {other:?}"),
    }
}

/// A row created on an account the caller cannot see is refused exactly as on an account
/// that does not exist: not found, or `account_id` named as unknown.
fn refused_as_missing<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        Err(StoreError::Invalid(invalid)) if invalid.field == "account_id" => {}
        other => panic!("{what}: expected the refusal of a missing account, got {other:?}"),
    }
}

/// The accounts a list mentions.
fn accounts_of(ids: impl IntoIterator<Item = AccountId>) -> BTreeSet<AccountId> {
    ids.into_iter().collect()
}

fn only_a(world: &World, seen: BTreeSet<AccountId>, what: &str) {
    assert_eq!(seen, BTreeSet::from([world.a.account]), "{what}");
}

#[test]
fn a_partner_sees_only_its_own_rows_through_every_read() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let read = partner_actor(world.partner_a).read();
        let page = PageRequest::first(100);
        let what = |method: &str| format!("{}: {method}", backend.name);

        let listed = ok(store.list_accounts(
            &read,
            &AccountFilter::default(),
            AccountSort::default(),
            &page,
        ));
        only_a(
            &world,
            accounts_of(listed.data.iter().map(|a| a.id)),
            &what("list_accounts"),
        );
        assert_eq!(
            ok(store.count_accounts(&read, &AccountFilter::default())),
            1,
            "{}",
            what("count_accounts")
        );
        only_a(
            &world,
            accounts_of(ok(store.all_accounts(&read)).iter().map(|a| a.id)),
            &what("all_accounts"),
        );
        assert_eq!(
            ok(store.get_account(&read, world.a.account)).id,
            world.a.account
        );
        not_found(
            store.get_account(&read, world.b.account),
            &what("get_account"),
        );
        not_found(
            store.get_account(&read, world.direct.account),
            &what("get_account direct"),
        );

        let contacts = ok(store.list_contacts(&read, &ContactFilter::default(), &page));
        only_a(
            &world,
            accounts_of(contacts.data.iter().map(|c| c.account_id)),
            &what("list_contacts"),
        );
        only_a(
            &world,
            accounts_of(ok(store.all_contacts(&read)).iter().map(|c| c.account_id)),
            &what("all_contacts"),
        );
        not_found(
            store.get_contact(&read, world.b.contact),
            &what("get_contact"),
        );

        let subscriptions =
            ok(store.list_subscriptions(&read, &SubscriptionFilter::default(), &page));
        only_a(
            &world,
            accounts_of(subscriptions.data.iter().map(|s| s.account_id)),
            &what("list_subscriptions"),
        );
        only_a(
            &world,
            accounts_of(
                ok(store.all_subscriptions(&read))
                    .iter()
                    .map(|s| s.account_id),
            ),
            &what("all_subscriptions"),
        );
        not_found(
            store.get_subscription(&read, world.b.subscription),
            &what("get_subscription"),
        );

        let touchpoints = ok(store.list_touchpoints(&read, &TouchpointFilter::default(), &page));
        only_a(
            &world,
            accounts_of(touchpoints.data.iter().map(|t| t.account_id)),
            &what("list_touchpoints"),
        );
        not_found(
            store.get_touchpoint(&read, world.b.touchpoint),
            &what("get_touchpoint"),
        );

        let tasks = ok(store.list_tasks(&read, &TaskFilter::default(), &page));
        only_a(
            &world,
            accounts_of(tasks.data.iter().map(|t| t.account_id)),
            &what("list_tasks"),
        );
        not_found(store.get_task(&read, world.b.task), &what("get_task"));

        let since = jiff::Timestamp::UNIX_EPOCH;
        only_a(
            &world,
            accounts_of(
                ok(store.survey_responses(&read, None, since))
                    .iter()
                    .map(|r| r.account_id),
            ),
            &what("survey_responses"),
        );
        only_a(
            &world,
            accounts_of(ok(store.pulses(&read, None)).iter().map(|p| p.account_id)),
            &what("pulses"),
        );
        only_a(
            &world,
            accounts_of(ok(store.touch_times(&read)).iter().map(|(a, _)| *a)),
            &what("touch_times"),
        );
        let health = ok(store.health_rows(&read, "default", None, DAY, DAY));
        only_a(
            &world,
            accounts_of(health.iter().map(|h| h.account_id)),
            &what("health_rows"),
        );
        let asked = ok(store.health_rows(&read, "default", Some(&[world.b.account]), DAY, DAY));
        assert!(asked.is_empty(), "{}", what("health_rows of B by id"));
        assert_eq!(
            ok(store.metric_series(&read, "logins", world.a.account, DAY, DAY)).len(),
            1
        );
        assert!(
            ok(store.metric_series(&read, "logins", world.b.account, DAY, DAY)).is_empty(),
            "{}",
            what("metric_series")
        );
        assert!(ok(store.list_runs(&read, &RunFilter::default())).is_empty());
        for change in ok(store.account_changes(&read, since)) {
            assert_eq!(
                change.account_id,
                world.a.account,
                "{}",
                what("account_changes")
            );
        }
    }
}

#[test]
fn a_partner_changes_nothing_of_another_partners_and_learns_nothing_of_it() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(partner_actor(world.partner_a).write());
        let what = |method: &str| format!("{}: {method}", backend.name);
        let b = world.b;

        let rename = AccountPatch {
            name: Some(ok(Name::parse("taken over"))),
            ..AccountPatch::default()
        };
        not_found(
            store.update_account(&write, b.account, rename.clone()),
            &what("update_account"),
        );
        not_found(
            store.delete_account(&write, b.account),
            &what("delete_account"),
        );
        refused_as_missing(
            store.create_contact(
                &write,
                NewContact {
                    account_id: b.account,
                    external_id: None,
                    name: ok(Name::parse("intruder")),
                    email: None,
                    role: None,
                    title: None,
                    personal_success: None,
                    sentiment: None,
                    influence: None,
                },
            ),
            &what("create_contact"),
        );
        let contact_patch = ContactPatch {
            name: Some(ok(Name::parse("renamed"))),
            ..ContactPatch::default()
        };
        not_found(
            store.update_contact(&write, b.contact, contact_patch),
            &what("update_contact"),
        );
        not_found(
            store.delete_contact(&write, b.contact),
            &what("delete_contact"),
        );
        refused_as_missing(
            store.create_subscription(
                &write,
                NewSubscription {
                    account_id: b.account,
                    external_id: None,
                    plan: ok(Slug::parse("pro")),
                    quantity: 1,
                    mrr: ok(Money::new(1.0)),
                    term: ok(Term::new(DAY, None)),
                },
            ),
            &what("create_subscription"),
        );
        let subscription_patch = SubscriptionPatch {
            quantity: Some(9),
            ..SubscriptionPatch::default()
        };
        not_found(
            store.update_subscription(&write, b.subscription, subscription_patch),
            &what("update_subscription"),
        );
        not_found(
            store.delete_subscription(&write, b.subscription),
            &what("delete_subscription"),
        );
        refused_as_missing(
            store.create_touchpoint(
                &write,
                NewTouchpoint {
                    account_id: b.account,
                    kind: TouchpointKind::Note,
                    occurred_at: ok("2026-02-05T10:00:00Z".parse()),
                    user_id: None,
                    summary: None,
                    attendees: vec![],
                    notes: None,
                    sentiment: None,
                },
            ),
            &what("create_touchpoint"),
        );
        not_found(
            store.delete_touchpoint(&write, b.touchpoint),
            &what("delete_touchpoint"),
        );
        refused_as_missing(
            store.create_task(&write, new_task(b.account)),
            &what("create_task"),
        );
        let task_patch = TaskPatch {
            owner_id: Patch::Clear,
            ..TaskPatch::default()
        };
        not_found(
            store.update_task(&write, b.task, task_patch),
            &what("update_task"),
        );
        refused_as_missing(
            store.add_survey_response(
                &write,
                NewSurveyResponse {
                    account_id: b.account,
                    contact_id: None,
                    kind: SurveyKind::Nps,
                    score: 0,
                    comment: None,
                    answered_at: ok("2026-02-06T10:00:00Z".parse()),
                },
            ),
            &what("add_survey_response"),
        );
        refused_as_missing(
            store.add_pulse(
                &write,
                &Pulse {
                    account_id: b.account,
                    user_id: None,
                    score: 1,
                    reason: "x".to_owned(),
                    created_at: ok("2026-02-06T10:00:00Z".parse()),
                },
            ),
            &what("add_pulse"),
        );

        // Nothing of B's changed: the system still sees every row as it was.
        let system = Actor::system().read();
        assert_eq!(
            ok(store.get_account(&system, b.account)).name.to_string(),
            "Account b"
        );
        assert_eq!(
            ok(store.get_contact(&system, b.contact)).name.to_string(),
            "Contact b"
        );
        assert_eq!(
            ok(store.get_subscription(&system, b.subscription)).quantity,
            1
        );
        ok(store.get_touchpoint(&system, b.touchpoint));
        assert!(ok(store.get_task(&system, b.task)).owner_id.is_none());
        let b_answers = ok(store.survey_responses(&system, None, jiff::Timestamp::UNIX_EPOCH))
            .into_iter()
            .filter(|r| r.account_id == b.account)
            .count();
        assert_eq!(b_answers, 1, "{}", what("survey answers of B"));
        let b_pulses = ok(store.pulses(&system, None))
            .into_iter()
            .filter(|p| p.account_id == b.account)
            .count();
        assert_eq!(b_pulses, 1, "{}", what("pulses of B"));
        // A's own account can still be changed by A.
        ok(store.update_account(&write, world.a.account, rename));
    }
}

#[test]
fn a_viewer_reads_everything_and_writes_nothing() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let viewer = ok(Actor::new(
            None,
            mikawaya_domain::access::Role::Viewer,
            None,
            mikawaya_domain::access::Scope::Read,
        ));
        let seen = accounts_of(ok(store.all_accounts(&viewer.read())).iter().map(|a| a.id));
        assert_eq!(
            seen,
            BTreeSet::from([world.a.account, world.b.account, world.direct.account])
        );
        assert!(
            viewer.write().is_err(),
            "{}: a viewer has no write proof",
            backend.name
        );
    }
}
