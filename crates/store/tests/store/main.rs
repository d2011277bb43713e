//! The store's behaviour suite: the contract of the `Store` trait, written against
//! `&dyn Store` so every backend runs the same tests (SQLite and PostgreSQL, see
//! [`backends`]). Partner scoping is tried through every method that takes an
//! access proof: a partner never sees or changes another partner's rows, and a row it
//! cannot see behaves as if it did not exist.

mod attention;
mod children;
mod config;
mod import;
mod outbox;
mod plans;
mod postgresql;
mod runs;
mod scoping;
mod team;

use mikawaya_domain::access::Role;
use mikawaya_domain::access::Scope;
use mikawaya_domain::account::NewAccount;
use mikawaya_domain::contact::NewContact;
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::subscription::{NewSubscription, Term};
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::{Email, ExternalId, Money, Name, Slug, Text};
use mikawaya_domain::work::{NewSurveyResponse, NewTask, Priority, SurveyKind};
use mikawaya_domain::{AccountId, Actor, ContactId, PartnerId, SubscriptionId, TouchpointId};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::work::{HealthRow, Pulse};

pub(crate) fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}"),
    }
}

/// A backend under test, with the folder that holds it.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    pub(crate) store: Box<dyn Store>,
    /// Kept so the folder lives as long as the store.
    pub(crate) _dir: tempfile::TempDir,
    /// Opens what [`Store::backup`] wrote as a store of this backend.
    pub(crate) restore: fn(&std::path::Path) -> Box<dyn Store>,
}

/// Every backend, each fresh and empty: SQLite in a temporary folder, and PostgreSQL in a
/// new database on the PostgreSQL 15 server this test process shares.
pub(crate) fn backends() -> Vec<Backend> {
    let dir = ok(tempfile::tempdir());
    let store = ok(SqliteStore::open_dir(dir.path()));
    let postgres = ok(PostgresStore::connect(&mikawaya_testpg::fresh_database()));
    vec![
        Backend {
            name: "sqlite",
            store: Box::new(store),
            _dir: dir,
            restore: |backup| Box::new(ok(SqliteStore::open(backup))),
        },
        Backend {
            name: "postgresql",
            store: Box::new(postgres),
            _dir: ok(tempfile::tempdir()),
            restore: |backup| {
                Box::new(ok(PostgresStore::restore(
                    backup,
                    &mikawaya_testpg::fresh_database(),
                )))
            },
        },
    ]
}

/// One partner's rows (or the direct account's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows {
    pub(crate) account: AccountId,
    pub(crate) contact: ContactId,
    pub(crate) subscription: SubscriptionId,
    pub(crate) touchpoint: TouchpointId,
    pub(crate) task: i64,
}

/// Two partners with one account each, and a direct account, each with a contact, a
/// subscription, a touchpoint, a task, a survey answer, a pulse and a health score.
pub(crate) struct World {
    pub(crate) partner_a: PartnerId,
    pub(crate) partner_b: PartnerId,
    pub(crate) a: Rows,
    pub(crate) b: Rows,
    pub(crate) direct: Rows,
}

pub(crate) const DAY: jiff::civil::Date = jiff::civil::Date::constant(2026, 3, 1);

/// A person of the vendor's team (no partner, no password), created by the system.
pub(crate) fn person(
    store: &dyn Store,
    email: &str,
    name: &str,
    role: Role,
) -> mikawaya_domain::user::User {
    ok(store.create_user(
        &ok(Actor::system().admin()),
        ok(mikawaya_domain::user::NewUser::new(
            ok(Email::parse(email)),
            ok(Name::parse(name)),
            role,
            None,
        )),
        None,
    ))
}

pub(crate) fn partner_actor(partner: PartnerId) -> Actor {
    ok(Actor::new(None, Role::Partner, Some(partner), Scope::Write))
}

pub(crate) fn seed(store: &dyn Store) -> World {
    let system = Actor::system();
    let admin = ok(system.admin());
    let write = ok(system.write());
    let partner = |external: &str| {
        ok(store.upsert_partner(
            &admin.manage(),
            NewPartner {
                external_id: Some(ok(ExternalId::parse(external))),
                name: ok(Name::parse(external)),
            },
        ))
        .id
    };
    let (partner_a, partner_b) = (partner("P-A"), partner("P-B"));
    let mut rows = Vec::new();
    for (key, partner_id) in [
        ("a", Some(partner_a)),
        ("b", Some(partner_b)),
        ("direct", None),
    ] {
        let mut new_account = NewAccount::named(ok(Name::parse(&format!("Account {key}"))));
        new_account.external_id = Some(ok(ExternalId::parse(&format!("EXT-{key}"))));
        new_account.partner_id = partner_id;
        new_account.mrr = ok(Money::new(100.0));
        let account = ok(store.create_account(&write, new_account)).id;
        let contact = ok(store.create_contact(
            &write,
            NewContact {
                account_id: account,
                external_id: None,
                name: ok(Name::parse(&format!("Contact {key}"))),
                email: Some(ok(Email::parse(&format!("{key}@customer.example")))),
                role: None,
                title: None,
                personal_success: None,
                sentiment: None,
                influence: None,
            },
        ))
        .id;
        let subscription = ok(store.create_subscription(
            &write,
            NewSubscription {
                account_id: account,
                external_id: None,
                plan: ok(Slug::parse("pro")),
                quantity: 1,
                mrr: ok(Money::new(100.0)),
                term: ok(Term::new(jiff::civil::date(2025, 1, 1), None)),
            },
        ))
        .id;
        let touchpoint = ok(store.create_touchpoint(
            &write,
            NewTouchpoint {
                account_id: account,
                kind: TouchpointKind::Call,
                occurred_at: ok("2026-02-01T10:00:00Z".parse()),
                user_id: None,
                summary: None,
                attendees: vec![],
                notes: None,
                sentiment: None,
            },
        ))
        .id;
        let task = ok(store.create_task(&write, new_task(account))).id;
        ok(store.add_survey_response(
            &write,
            NewSurveyResponse {
                account_id: account,
                contact_id: Some(contact),
                kind: SurveyKind::Nps,
                score: 9,
                comment: None,
                answered_at: ok("2026-02-02T10:00:00Z".parse()),
            },
        ));
        ok(store.add_pulse(
            &write,
            &Pulse {
                account_id: account,
                user_id: None,
                score: 60,
                reason: "steady".to_owned(),
                created_at: ok("2026-02-03T10:00:00Z".parse()),
            },
        ));
        rows.push(Rows {
            account,
            contact,
            subscription,
            touchpoint,
            task,
        });
    }
    let health: Vec<HealthRow> = rows
        .iter()
        .map(|r| HealthRow {
            account_id: r.account,
            day: DAY,
            score: Some(50.0),
            colour: Some("yellow".to_owned()),
            measures: Vec::new(),
            card: "default".to_owned(),
            cards_version: 0,
        })
        .collect();
    ok(store.put_health(&ok(system.manage()), "default", DAY, &health));
    let values: Vec<(AccountId, Option<f64>)> =
        rows.iter().map(|r| (r.account, Some(1.0))).collect();
    ok(store.put_metric_values(&ok(system.manage()), "logins", DAY, &values));
    World {
        partner_a,
        partner_b,
        a: rows[0],
        b: rows[1],
        direct: rows[2],
    }
}

pub(crate) fn new_task(account: AccountId) -> NewTask {
    NewTask {
        account_id: account,
        owner_id: None,
        title: ok(Text::parse("call them")),
        instructions: None,
        priority: Priority::Normal,
        due_on: DAY,
        run_id: None,
        phase: None,
        deliverable: None,
    }
}
