//! The PostgreSQL backend against a real PostgreSQL 15 server, started here as an
//! unprivileged user (`postgres` when the tests run as root) on 127.0.0.1 in a temporary
//! directory: its migrations, applied once when three nodes connect at the same time.

use mikawaya_store::Store;
use mikawaya_store::StoreError;
use mikawaya_store::postgresql::PostgresStore;

fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| panic!("{error:?}"))
}

#[test]
fn three_nodes_connecting_at_once_apply_the_migrations_once() {
    let url = mikawaya_testpg::fresh_database();
    let url = url.clone();
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::connect(&url))
        })
        .collect();
    let stores: Vec<PostgresStore> = nodes.into_iter().map(|node| ok(ok(node.join()))).collect();
    for store in &stores {
        let version = ok(store.schema_version());
        assert!(version.is_current(), "{version:?}");
        assert!(version.known >= 1);
    }
    let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
    let rows = ok(client.query(
        "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version",
        &[],
    ));
    let recorded: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let known = i64::from(ok(stores[0].schema_version()).known);
    // Both backends are at the same schema version: a SQLite migration needs its twin.
    let dir = ok(tempfile::tempdir());
    let sqlite = ok(mikawaya_store::sqlite::SqliteStore::open(
        &dir.path().join("m.db"),
    ));
    assert_eq!(
        i64::from(ok(mikawaya_store::Store::schema_version(&sqlite)).known),
        known,
        "a SQLite migration has no PostgreSQL twin in migrations/postgres"
    );
    assert_eq!(recorded, (1..=known).map(|v| (v, 1)).collect::<Vec<_>>());
    // The schema is there: the customer model's tables take rows.
    ok(client.execute(
        "INSERT INTO partners (name, created_at) VALUES ('Acme Partners', '2026-01-01T00:00:00Z')",
        &[],
    ));
    // A fourth node finds nothing to do.
    ok(PostgresStore::connect(&url));
    let count: i64 = ok(client.query_one("SELECT count(*) FROM schema_migrations", &[])).get(0);
    assert_eq!(count, known);
}

#[test]
fn a_database_newer_than_the_build_is_refused_and_bad_urls_are_named() {
    let url = mikawaya_testpg::fresh_database();
    let store = ok(PostgresStore::connect(&url.clone()));
    let known = i64::from(ok(store.schema_version()).known);
    let mut client = ok(postgres::Client::connect(&url.clone(), postgres::NoTls));
    ok(client.execute(
        "INSERT INTO schema_migrations (version) VALUES ($1)",
        &[&(known + 1)],
    ));
    match PostgresStore::connect(&url.clone()) {
        Err(StoreError::SchemaTooNew { found, known: k }) => {
            assert_eq!((found, k), (known + 1, known));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let readiness = ok(store.schema_version());
    assert!(!readiness.is_current());

    match PostgresStore::connect("mysql://nowhere") {
        Err(StoreError::Invalid(invalid)) => {
            assert_eq!(invalid.field, "database_url", "{invalid:?}");
        }
        other => panic!("expected an invalid URL, got {other:?}"),
    }
}

#[test]
fn the_schema_keeps_signals_history_and_the_audit_trail_as_sqlite_does() {
    let url = mikawaya_testpg::fresh_database();
    ok(PostgresStore::connect(&url.clone()));
    let mut client = ok(postgres::Client::connect(&url.clone(), postgres::NoTls));
    let stamp = |client: &mut postgres::Client| -> i64 {
        ok(client.query_one("SELECT n FROM history_stamp WHERE id = 1", &[])).get(0)
    };
    let before = stamp(&mut client);
    let mut transaction = ok(client.transaction());
    let user: i64 = ok(transaction.query_one(
        "INSERT INTO users (email, name, role, created_at) \
         VALUES ('aiko@example.com', 'Aiko', 'csm', '2026-01-01T00:00:00Z') RETURNING id",
        &[],
    ))
    .get(0);
    ok(transaction.execute(&format!("SET LOCAL mikawaya.actor_id = '{user}'"), &[]));
    let account: i64 = ok(transaction.query_one(
        "INSERT INTO accounts (name, created_at, updated_at) \
         VALUES ('三河屋 株式会社', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z') RETURNING id",
        &[],
    ))
    .get(0);
    ok(transaction.execute(
        "INSERT INTO touchpoints (account_id, kind, occurred_at, created_at) \
         VALUES ($1, 'meeting', '2026-02-01T09:00:00Z', '2026-02-01T09:00:00Z')",
        &[&account],
    ));
    // An update that changes nothing leaves no audit row.
    ok(transaction.execute("UPDATE accounts SET name = name WHERE id = $1", &[&account]));
    ok(transaction.commit());

    let touch: Option<String> = ok(client.query_one(
        "SELECT last_touch_at FROM account_signals WHERE account_id = $1",
        &[&account],
    ))
    .get(0);
    assert_eq!(touch.as_deref(), Some("2026-02-01T09:00:00Z"));
    let audit = ok(client.query(
        "SELECT actor_id, action, after FROM audit_log WHERE object = 'account' ORDER BY id",
        &[],
    ));
    assert_eq!(audit.len(), 1);
    let actor: Option<i64> = audit[0].get(0);
    let action: String = audit[0].get(1);
    let after: String = audit[0].get(2);
    assert_eq!((actor, action.as_str()), (Some(user), "create"));
    let after: serde_json::Value = ok(serde_json::from_str(&after));
    assert_eq!(after["name"], "三河屋 株式会社");
    // Accounts and touchpoints are history: the stamp moved.
    assert!(stamp(&mut client) > before);

    // Without an acting user (the system), the trail says none.
    ok(client.execute(
        "UPDATE accounts SET stage = 'onboarding' WHERE id = $1",
        &[&account],
    ));
    let system: Option<i64> = ok(client.query_one(
        "SELECT actor_id FROM audit_log WHERE action = 'update' AND object = 'account'",
        &[],
    ))
    .get(0);
    assert_eq!(system, None);
}

#[test]
fn tokens_and_sessions_issued_by_one_node_are_honoured_and_revoked_on_another() {
    use mikawaya_domain::access::Scope;
    use mikawaya_domain::value::{Email, Name};
    use mikawaya_domain::{Actor, UserId};

    let url = mikawaya_testpg::fresh_database();
    let node_a = ok(PostgresStore::connect(&url.clone()));
    let node_b = ok(PostgresStore::connect(&url.clone()));
    let mut client = ok(postgres::Client::connect(&url.clone(), postgres::NoTls));
    let user: i64 = ok(client.query_one(
        "INSERT INTO users (email, name, role, password_hash, created_at) \
         VALUES ('kenji@example.jp', '健二', 'csm', 'hash', '2026-01-01T00:00:00Z') RETURNING id",
        &[],
    ))
    .get(0);
    let user = UserId::new(user);
    let admin = ok(Actor::system().admin());

    let token = ok(node_a.create_token(
        &admin,
        ok(Name::parse("CRM sync")),
        Scope::Write,
        Some(user),
        "token-hash-1".to_owned(),
    ));
    let (found, owner) =
        ok(node_b.find_token("token-hash-1")).unwrap_or_else(|| panic!("no token"));
    assert_eq!(found, token);
    assert_eq!(
        owner.map(|u| u.name.as_str().to_owned()),
        Some("健二".to_owned())
    );
    assert_eq!(ok(node_b.list_tokens(&admin)).len(), 1);
    ok(node_b.revoke_token(&admin, token.id));
    assert!(ok(node_a.find_token("token-hash-1")).is_none());
    assert!(matches!(
        node_a.revoke_token(&admin, mikawaya_domain::TokenId::new(999)),
        Err(StoreError::NotFound { .. })
    ));
    // A token for a user that does not exist names the field.
    match node_a.create_token(
        &admin,
        ok(Name::parse("x")),
        Scope::Read,
        Some(UserId::new(999)),
        "token-hash-2".to_owned(),
    ) {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "user_id"),
        other => panic!("expected an invalid user, got {other:?}"),
    }

    let now = jiff::Timestamp::now();
    let later = ok(now.checked_add(jiff::SignedDuration::from_hours(8)));
    ok(node_a.create_session("session-1".to_owned(), user, "csrf".to_owned(), later));
    let session = ok(node_b.find_session("session-1", now)).unwrap_or_else(|| panic!("no session"));
    assert_eq!(
        (session.user.id, session.csrf_token.as_str()),
        (user, "csrf")
    );
    // Past its expiry it is gone; deleted on one node, gone on the other.
    let after = ok(later.checked_add(jiff::SignedDuration::from_secs(1)));
    assert!(ok(node_b.find_session("session-1", after)).is_none());
    ok(node_b.delete_session("session-1"));
    assert!(ok(node_a.find_session("session-1", now)).is_none());

    // A deactivated user's sessions and logins are refused.
    ok(node_a.create_session("session-2".to_owned(), user, "c2".to_owned(), later));
    let email = ok(Email::parse("kenji@example.jp"));
    assert_eq!(
        ok(node_a.find_login(&email)).map(|(u, hash)| (u.id, hash)),
        Some((user, Some("hash".to_owned())))
    );
    ok(client.execute(
        "UPDATE users SET deactivated_at = '2026-02-01T00:00:00Z' WHERE id = $1",
        &[&user.get()],
    ));
    assert!(ok(node_b.find_session("session-2", now)).is_none());
    assert!(ok(node_b.find_login(&email)).is_none());
    assert_eq!(ok(node_b.list_users(&Actor::system().read())).len(), 1);
    assert_eq!(ok(node_b.get_user(&Actor::system().read(), user)).id, user);
}

#[test]
fn partners_are_upserted_scoped_and_kept_while_they_own_accounts_with_the_audit_trail() {
    use mikawaya_domain::partner::NewPartner;
    use mikawaya_domain::value::{ExternalId, Name};
    use mikawaya_domain::{Actor, PartnerId};
    use mikawaya_store::AuditFilter;

    let url = mikawaya_testpg::fresh_database();
    let store = ok(PostgresStore::connect(&url.clone()));
    let system = Actor::system();
    let manage = ok(system.manage());
    let new = |external: &str, name: &str| NewPartner {
        external_id: Some(ok(ExternalId::parse(external))),
        name: ok(Name::parse(name)),
    };
    let kansai = ok(store.upsert_partner(&manage, new("P-1", "関西販売")));
    let tokyo = ok(store.upsert_partner(&manage, new("P-2", "Tokyo Resellers")));
    // The same external id renames, it does not add.
    let renamed = ok(store.upsert_partner(&manage, new("P-1", "関西販売 株式会社")));
    assert_eq!(renamed.id, kansai.id);
    assert_eq!(ok(store.list_partners(&system.read())).len(), 2);
    // A partner sees itself only; another partner is not found.
    let own = ok(Actor::new(
        None,
        mikawaya_domain::access::Role::Partner,
        Some(tokyo.id),
        mikawaya_domain::access::Scope::Write,
    ))
    .read();
    let seen: Vec<PartnerId> = ok(store.list_partners(&own)).iter().map(|p| p.id).collect();
    assert_eq!(seen, [tokyo.id]);
    assert!(matches!(
        store.get_partner(&own, kansai.id),
        Err(StoreError::NotFound { .. })
    ));

    // A partner that owns an account cannot be deleted; without it, it can.
    let mut client = ok(postgres::Client::connect(&url.clone(), postgres::NoTls));
    ok(client.execute(
        "INSERT INTO accounts (name, partner_id, created_at, updated_at) \
         VALUES ('Acme', $1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        &[&tokyo.id.get()],
    ));
    match store.delete_partner(&manage, tokyo.id) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "id"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(ok(store.get_partner(&system.read(), tokyo.id)).id, tokyo.id);
    ok(store.delete_partner(&manage, kansai.id));
    assert!(matches!(
        store.get_partner(&system.read(), kansai.id),
        Err(StoreError::NotFound { .. })
    ));

    let trail = ok(store.audit_log(
        &ok(system.admin()),
        &AuditFilter {
            object: Some("partner".to_owned()),
            limit: 50,
            ..AuditFilter::default()
        },
    ));
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e.object_key.as_str(), e.action.as_str()))
        .collect();
    let (k, t) = (kansai.id.to_string(), tokyo.id.to_string());
    assert_eq!(
        actions,
        [
            (k.as_str(), "delete"),
            (k.as_str(), "update"),
            (t.as_str(), "create"),
            (k.as_str(), "create")
        ]
    );
}

#[test]
fn people_fields_segments_and_write_keys_behave_on_postgresql_as_on_sqlite() {
    use mikawaya_domain::Actor;
    use mikawaya_domain::access::{Role, Scope};
    use mikawaya_domain::account::AccountFilter;
    use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
    use mikawaya_domain::segment::NewSegment;
    use mikawaya_domain::user::{NewUser, UserChange};
    use mikawaya_domain::value::{Email, Name, Slug};
    use mikawaya_store::AuditFilter;

    let url = mikawaya_testpg::fresh_database();
    let store = ok(PostgresStore::connect(&url.clone()));
    let system = Actor::system();
    let admin = ok(system.admin());
    let person = |email: &str, role: Role| {
        ok(NewUser::new(
            ok(Email::parse(email)),
            ok(Name::parse("さくら")),
            role,
            None,
        ))
    };
    let sakura = ok(store.create_user(
        &admin,
        person("sakura@example.jp", Role::Csm),
        Some("h".into()),
    ));
    match store.create_user(&admin, person("sakura@example.jp", Role::Viewer), None) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "email"),
        other => panic!("expected a conflict on email, got {other:?}"),
    }
    // A new role logs the person out; deactivation revokes their tokens too.
    let later = ok(jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)));
    ok(store.create_session("s1".into(), sakura.id, "c".into(), later));
    let leader = ok(store.update_user(
        &admin,
        sakura.id,
        UserChange {
            role: Some(Role::Leader),
            ..UserChange::default()
        },
    ));
    assert_eq!(leader.role, Role::Leader);
    assert!(ok(store.find_session("s1", jiff::Timestamp::now())).is_none());
    ok(store.create_token(
        &admin,
        ok(Name::parse("t")),
        Scope::Read,
        Some(sakura.id),
        "th".into(),
    ));
    let inactive = ok(store.set_user_active(&admin, sakura.id, false));
    assert!(inactive.deactivated_at.is_some());
    assert!(ok(store.find_token("th")).is_none());
    assert!(ok(store.find_login(&ok(Email::parse("sakura@example.jp")))).is_none());
    ok(store.set_user_active(&admin, sakura.id, true));
    ok(store.set_locale(sakura.id, Some("ja".into())));
    assert_eq!(
        ok(store.get_user(&system.read(), sakura.id))
            .locale
            .as_deref(),
        Some("ja")
    );

    // Custom fields: defined, changed, deleted, each in the trail once.
    let field = |label: &str| {
        ok(CustomFieldDef::new(
            ok(Slug::parse("industry")),
            ok(Name::parse(label)),
            CustomFieldKind::Text,
            vec![],
        ))
    };
    ok(store.put_custom_field(&admin, field("Industry")));
    ok(store.put_custom_field(&admin, field("Industry")));
    ok(store.put_custom_field(&admin, field("業種")));
    assert_eq!(ok(store.list_custom_fields()), [field("業種")]);
    ok(store.delete_custom_field(&admin, "industry"));
    assert!(matches!(
        store.delete_custom_field(&admin, "industry"),
        Err(StoreError::NotFound { .. })
    ));
    let trail = ok(store.audit_log(
        &admin,
        &AuditFilter {
            object: Some("custom_field".into()),
            limit: 10,
            ..AuditFilter::default()
        },
    ));
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"]);

    // Segments: names are unique.
    let manage = ok(system.manage());
    let segment = |name: &str| NewSegment {
        name: ok(Name::parse(name)),
        description: None,
        filter: AccountFilter::default(),
    };
    let big = ok(store.create_segment(&manage, segment("Big")));
    ok(store.create_segment(&manage, segment("Small")));
    match store.update_segment(&manage, big.id, segment("Small")) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict on name, got {other:?}"),
    }
    let renamed = ok(store.update_segment(&manage, big.id, segment("Bigger")));
    assert_eq!(ok(store.get_segment(&system.read(), big.id)), renamed);
    ok(store.delete_segment(&manage, big.id));
    assert_eq!(ok(store.list_segments(&system.read())).len(), 1);

    // Write keys: found by hash until revoked.
    let key = ok(store.create_write_key(&admin, ok(Name::parse("web")), "wk".into()));
    assert_eq!(ok(store.find_write_key("wk")).map(|k| k.id), Some(key.id));
    ok(store.revoke_write_key(&admin, key.id));
    assert!(ok(store.find_write_key("wk")).is_none());
    assert_eq!(ok(store.list_write_keys(&admin)).len(), 1);
    ok(store.delete_user(&admin, sakura.id));
    assert!(matches!(
        store.get_user(&system.read(), sakura.id),
        Err(StoreError::NotFound { .. })
    ));
}
