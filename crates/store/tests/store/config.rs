//! Typed configuration and service state: versioned configuration with who and when,
//! dashboard reports kept per visibility scope, the daily pipeline's days, health rows
//! that record their card, and the move of an older data dir's meta rows into them.

use crate::{DAY, backends, ok, partner_actor, seed};
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::{Actor, UserId};
use mikawaya_store::StoreError;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::work::DailyRunRecord;

#[test]
fn configuration_is_saved_in_versions_with_who_and_when() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let system = Actor::system();
        let leader = crate::person(store, "lead@team.example", "Lead", Role::Leader);
        let manage = ok(ok(Actor::new(
            Some(leader.id),
            Role::Leader,
            None,
            Scope::Admin,
        ))
        .manage());
        let read = system.read();
        let kind = ConfigKind::SegmentScorecards;
        assert_eq!(
            ok(store.config(&read, kind, None)),
            None,
            "{}",
            backend.name
        );
        let first = ok(store.put_config(&manage, kind, "[1]"));
        assert_eq!((first.version, first.saved_by), (1, Some(leader.id)));
        // Saving the same body again keeps the version.
        assert_eq!(ok(store.put_config(&manage, kind, "[1]")).version, 1);
        let second = ok(store.put_config(&ok(system.manage()), kind, "[2]"));
        assert_eq!((second.version, second.saved_by), (2, None));
        assert_eq!(
            ok(store.config(&read, kind, None)).map(|c| c.body),
            Some("[2]".to_owned())
        );
        assert_eq!(
            ok(store.config(&read, kind, Some(1))).map(|c| c.body),
            Some("[1]".to_owned())
        );
        assert!(matches!(
            store.config(&read, kind, Some(7)),
            Err(StoreError::NotFound { .. })
        ));
        let history: Vec<i64> = ok(store.config_versions(&read, kind))
            .iter()
            .map(|c| c.version)
            .collect();
        assert_eq!(history, vec![2, 1]);
        // Kinds are kept apart.
        assert_eq!(
            ok(store.config(&read, ConfigKind::ForecastModel, None)),
            None
        );
        // A deleted user leaves the version without its author.
        ok(store.delete_user(&ok(system.admin()), leader.id));
        assert_eq!(
            ok(store.config(&read, kind, Some(1))).and_then(|c| c.saved_by),
            None::<UserId>
        );
    }
}

#[test]
fn dashboard_reports_are_kept_per_visibility_scope() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let all = Actor::system().read();
        let a = partner_actor(world.partner_a).read();
        let b = partner_actor(world.partner_b).read();
        ok(store.put_dashboard_report(&all, DAY, "everyone"));
        ok(store.put_dashboard_report(&a, DAY, "partner a"));
        assert_eq!(
            ok(store.dashboard_report(&all)),
            Some((DAY, "everyone".to_owned()))
        );
        assert_eq!(
            ok(store.dashboard_report(&a)),
            Some((DAY, "partner a".to_owned()))
        );
        assert_eq!(ok(store.dashboard_report(&b)), None, "{}", backend.name);
        let next = DAY.tomorrow().unwrap_or(DAY);
        ok(store.put_dashboard_report(&a, next, "partner a, later"));
        assert_eq!(
            ok(store.dashboard_report(&a)),
            Some((next, "partner a, later".to_owned()))
        );
    }
}

#[test]
fn the_daily_run_is_recorded_per_business_day() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let system = Actor::system();
        assert_eq!(ok(store.last_daily_run(&system.read())), None);
        for day in [DAY, DAY.tomorrow().unwrap_or(DAY)] {
            let run = DailyRunRecord {
                day,
                fired: 1,
                scores: 2,
                metric_values: 3,
            };
            ok(store.record_daily_run(&ok(system.manage()), &run));
            // Recording a day again is harmless.
            ok(store.record_daily_run(&ok(system.manage()), &run));
            assert_eq!(
                ok(store.last_daily_run(&system.read())),
                Some(day),
                "{}",
                backend.name
            );
        }
    }
}

#[test]
fn health_rows_record_the_card_that_made_them() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let rows = ok(store.health_rows(
            &Actor::system().read(),
            "default",
            Some(&[world.a.account]),
            DAY,
            DAY,
        ));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].card, "default", "{}", backend.name);
        // The snapshot standing for a day is the latest within the days asked.
        let week_before = ok(DAY.checked_sub(jiff::Span::new().days(6)));
        assert_eq!(
            ok(store.latest_health_day("default", week_before, DAY)),
            Some(DAY),
            "{}",
            backend.name
        );
        assert_eq!(
            ok(store.health_days("default")),
            vec![DAY],
            "{}",
            backend.name
        );
        let later = ok(DAY.checked_add(jiff::Span::new().days(1)));
        assert_eq!(ok(store.latest_health_day("default", later, later)), None);
    }
}

#[test]
fn an_older_data_dirs_meta_rows_move_to_typed_tables_on_open() {
    let dir = ok(tempfile::tempdir());
    drop(ok(SqliteStore::open_dir(dir.path())));
    // Turn the file back into schema 8, as an older mikawaya left it.
    let file = dir.path().join(SqliteStore::FILE_NAME);
    {
        let connection = ok(rusqlite::Connection::open(&file));
        // The audit trail's triggers (0018) go first: they name tables dropped below.
        let triggers: Vec<String> = ok(ok(connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit\\_%' ESCAPE '\\'"))
        .query_map([], |row| row.get(0))
        .and_then(Iterator::collect));
        assert_eq!(triggers.len(), 30, "{triggers:?}");
        for trigger in triggers {
            ok(connection.execute_batch(&format!("DROP TRIGGER {trigger};")));
        }
        ok(connection.execute_batch(
            "DROP TABLE audit_context; DROP TABLE plan_names; DROP TABLE webhook_deliveries; DROP TABLE request_events; DROP TABLE feedback_items;
             DROP TABLE feature_requests; DROP INDEX survey_responses_send;
             ALTER TABLE survey_responses DROP COLUMN send_id; ALTER TABLE survey_responses DROP COLUMN answers;
             ALTER TABLE survey_responses DROP COLUMN experience_override; ALTER TABLE survey_responses DROP COLUMN override_by;
             DROP TABLE survey_sends; DROP TABLE surveys;
             DROP TRIGGER stage_entries_since; DROP TABLE stage_entries;
             DROP TRIGGER success_plans_signals_insert; DROP TRIGGER success_plans_signals_update;
             DROP TRIGGER success_plans_signals_delete;
             DROP TABLE plan_shares; DROP TABLE plan_progress; DROP TABLE plan_events; DROP TABLE success_plans;
             DROP TABLE config_versions; DROP TABLE dashboard_reports; DROP TABLE daily_runs;
             DROP TABLE account_signals; DROP TABLE attention_snoozes;
             DROP TRIGGER touchpoints_last_touch_insert; DROP TRIGGER touchpoints_last_touch_delete;
             DROP TRIGGER accounts_signals_row;
             ALTER TABLE contacts DROP COLUMN influence; ALTER TABLE contacts DROP COLUMN source;
             ALTER TABLE touchpoints DROP COLUMN notes; ALTER TABLE touchpoints DROP COLUMN sentiment;
             ALTER TABLE playbook_runs DROP COLUMN reason_ja;
             ALTER TABLE users DROP COLUMN deactivated_at; DROP TABLE audit_log;
             DROP TABLE leases; DROP TABLE login_failures;
             DROP TABLE history_stamp; DROP TABLE book_stamp; DROP TABLE book_changes; DROP TRIGGER book_stamp_users_name; DROP TRIGGER book_stamp_partners_name;
             DROP TRIGGER book_stamp_accounts_insert; DROP TRIGGER book_stamp_accounts_update; DROP TRIGGER book_stamp_accounts_delete; DROP TRIGGER book_stamp_subscriptions_insert; DROP TRIGGER book_stamp_subscriptions_update; DROP TRIGGER book_stamp_subscriptions_delete; DROP TRIGGER book_stamp_account_changes_insert; DROP TRIGGER book_stamp_account_changes_update; DROP TRIGGER book_stamp_account_changes_delete;
             DROP TRIGGER history_stamp_accounts_insert; DROP TRIGGER history_stamp_accounts_update; DROP TRIGGER history_stamp_accounts_delete;
             DROP TRIGGER history_stamp_subscriptions_insert; DROP TRIGGER history_stamp_subscriptions_update; DROP TRIGGER history_stamp_subscriptions_delete;
             DROP TRIGGER history_stamp_touchpoints_insert; DROP TRIGGER history_stamp_touchpoints_update; DROP TRIGGER history_stamp_touchpoints_delete;
             DROP TRIGGER history_stamp_survey_responses_insert; DROP TRIGGER history_stamp_survey_responses_update; DROP TRIGGER history_stamp_survey_responses_delete;
             DROP TRIGGER history_stamp_pulses_insert; DROP TRIGGER history_stamp_pulses_update; DROP TRIGGER history_stamp_pulses_delete;
             DROP TRIGGER history_stamp_account_changes_insert; DROP TRIGGER history_stamp_account_changes_update; DROP TRIGGER history_stamp_account_changes_delete;
             INSERT INTO meta (key, value) VALUES
               ('scorecards.segments', '[{\"segment\":{\"field\":\"tier\",\"value\":\"high\"}}]'),
               ('forecast.model.1', '{\"v\":1}'), ('forecast.model.2', '{\"v\":2}'),
               ('forecast.latest', '2'), ('rules.last_day', '2026-03-01'),
               ('report.dashboard.all', '{}'), ('secret', 'kept');
             PRAGMA user_version = 8;",
        ));
    }
    let store = ok(SqliteStore::open_dir(dir.path()));
    let read = Actor::system().read();
    let cards = ok(mikawaya_store::Store::config(
        &store,
        &read,
        ConfigKind::SegmentScorecards,
        None,
    ));
    assert_eq!(
        cards.map(|c| (c.version, c.body)),
        Some((
            1,
            "[{\"segment\":{\"field\":\"tier\",\"value\":\"high\"}}]".to_owned()
        ))
    );
    let models = ok(mikawaya_store::Store::config_versions(
        &store,
        &read,
        ConfigKind::ForecastModel,
    ));
    let models: Vec<(i64, String)> = models.into_iter().map(|m| (m.version, m.body)).collect();
    assert_eq!(
        models,
        vec![(2, "{\"v\":2}".to_owned()), (1, "{\"v\":1}".to_owned())]
    );
    assert_eq!(
        ok(mikawaya_store::Store::last_daily_run(&store, &read)),
        Some(DAY)
    );
    for moved in [
        "scorecards.segments",
        "forecast.model.1",
        "forecast.latest",
        "rules.last_day",
        "report.dashboard.all",
    ] {
        assert_eq!(
            ok(mikawaya_store::Store::get_meta(&store, moved)),
            None,
            "{moved}"
        );
    }
    assert_eq!(
        ok(mikawaya_store::Store::get_meta(&store, "secret")).as_deref(),
        Some("kept")
    );
}

#[test]
fn the_business_time_zone_is_kept_and_checked() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let manage = ok(Actor::system().manage());
        assert_eq!(
            ok(store.business_time_zone()).iana_name(),
            Some("UTC"),
            "{}",
            backend.name
        );
        ok(store.set_business_time_zone(&manage, "Asia/Tokyo"));
        assert_eq!(
            ok(store.business_time_zone()).iana_name(),
            Some("Asia/Tokyo")
        );
        match store.set_business_time_zone(&manage, "Mars/Olympus") {
            Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "time_zone"),
            other => panic!(
                "{}: expected an invalid time zone, got {other:?}",
                backend.name
            ),
        }
        assert_eq!(
            ok(store.business_time_zone()).iana_name(),
            Some("Asia/Tokyo")
        );
    }
}

#[test]
fn the_history_and_book_stamps_move_with_what_they_count_only() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = crate::seed(store);
        let write = ok(Actor::system().write());
        let before = ok(store.history_stamp());
        let book = ok(store.book_stamp());
        // A task is work on the account, not its history.
        ok(store.update_task(
            &write,
            world.a.task,
            mikawaya_domain::work::TaskPatch {
                note: mikawaya_domain::Patch::Set(ok(mikawaya_domain::value::Text::parse("call"))),
                ..Default::default()
            },
        ));
        assert_eq!(ok(store.history_stamp()), before, "{}", backend.name);
        assert_eq!(ok(store.book_stamp()), book, "{}", backend.name);
        ok(store.update_subscription(
            &write,
            world.a.subscription,
            mikawaya_domain::subscription::SubscriptionPatch {
                quantity: Some(7),
                ..Default::default()
            },
        ));
        let after = ok(store.history_stamp());
        assert!(after > before, "{}", backend.name);
        let book_after = ok(store.book_stamp());
        assert!(
            book_after > book,
            "{}: a subscription is the book",
            backend.name
        );
        // A touchpoint is the book's history, not the book: the sums over the book stand.
        ok(store.delete_touchpoint(&write, world.b.touchpoint));
        let later = ok(store.history_stamp());
        assert!(later > after, "{}", backend.name);
        assert_eq!(ok(store.book_stamp()), book_after, "{}", backend.name);
        ok(store.update_account(
            &write,
            world.b.account,
            mikawaya_domain::account::AccountPatch {
                name: Some(ok(mikawaya_domain::value::Name::parse("Renamed B"))),
                ..Default::default()
            },
        ));
        let book_later = ok(store.book_stamp());
        assert!(
            book_later > book_after,
            "{}: an account is the book",
            backend.name
        );
        let later = ok(store.history_stamp());
        // The accounts' signals (their health in force) are read by the sums kept over it.
        ok(store.put_signals(
            &ok(Actor::system().manage()),
            crate::DAY,
            &[mikawaya_store::work::SignalRow {
                account_id: world.a.account,
                health: Some(40.0),
                health_change: None,
                forecast_risk: None,
                forecast_factors: Vec::new(),
            }],
        ));
        assert!(ok(store.history_stamp()) > later, "{}", backend.name);
        let signalled = ok(store.book_stamp());
        assert!(signalled > book_later, "{}", backend.name);
        // The cohorts table names owners: a person renamed moves the book stamp.
        let admin = ok(Actor::system().admin());
        let person = crate::person(
            store,
            "owner@example.com",
            "Owner",
            mikawaya_domain::access::Role::Csm,
        );
        let created = ok(store.book_stamp());
        ok(store.update_user(
            &admin,
            person.id,
            mikawaya_domain::user::UserChange {
                name: Some(ok(mikawaya_domain::value::Name::parse("Owner Renamed"))),
                ..Default::default()
            },
        ));
        assert!(
            ok(store.book_stamp()) > created,
            "{}: a rename",
            backend.name
        );
        assert!(created >= signalled, "{}", backend.name);
    }
}
