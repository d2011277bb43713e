//! Signals and snoozes: lists sort and filter by the signals, the last touch follows every
//! touchpoint written or deleted, and a partner cannot snooze or see another's accounts.

use crate::{DAY, backends, ok, partner_actor, seed};
use mikawaya_domain::account::{AccountFilter, AccountSort, AccountSortField};
use mikawaya_domain::health::Colour;
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::Text;
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::work::{SignalRow, Snooze};
use mikawaya_store::{PageRequest, Store};

fn signal(account_id: AccountId, health: Option<f64>, risk: Option<f64>) -> SignalRow {
    SignalRow {
        account_id,
        health,
        health_change: health.map(|h| h - 50.0),
        forecast_risk: risk,
        forecast_factors: vec!["logins".to_owned()],
    }
}

#[test]
fn lists_sort_and_filter_by_health_with_unscored_accounts_last() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let read = Actor::system().read();
        ok(store.put_signals(
            &ok(Actor::system().manage()),
            DAY,
            &[
                signal(world.a.account, Some(72.0), Some(0.1)),
                signal(world.b.account, Some(31.5), Some(0.6)),
                signal(world.direct.account, None, None),
            ],
        ));
        assert_eq!(ok(store.signals_day()), Some(DAY), "{}", backend.name);
        let order = |field, descending| -> Vec<AccountId> {
            let sort = AccountSort { field, descending };
            ok(store.list_accounts(
                &read,
                &AccountFilter::default(),
                sort,
                &PageRequest::first(10),
            ))
            .data
            .iter()
            .map(|a| a.id)
            .collect()
        };
        let (a, b, direct) = (world.a.account, world.b.account, world.direct.account);
        assert_eq!(
            order(AccountSortField::Health, false),
            [b, a, direct],
            "{}",
            backend.name
        );
        assert_eq!(
            order(AccountSortField::Health, true),
            [a, b, direct],
            "{}",
            backend.name
        );
        assert_eq!(order(AccountSortField::ForecastRisk, true), [b, a, direct]);
        assert_eq!(order(AccountSortField::HealthChange, false), [b, a, direct]);
        // Pages follow the same order through their cursor.
        let sort = AccountSort {
            field: AccountSortField::Health,
            descending: false,
        };
        let first = ok(store.list_accounts(
            &read,
            &AccountFilter::default(),
            sort,
            &PageRequest::first(1),
        ));
        let cursor = first.next_cursor.clone().unwrap_or_default();
        let second = ok(store.list_accounts(
            &read,
            &AccountFilter::default(),
            sort,
            &ok(PageRequest::new(Some(2), Some(&cursor))),
        ));
        assert_eq!(
            second.data.iter().map(|x| x.id).collect::<Vec<_>>(),
            [a, direct]
        );
        let red = AccountFilter {
            health: Some(Colour::Red),
            ..AccountFilter::default()
        };
        let found =
            ok(store.list_accounts(&read, &red, AccountSort::default(), &PageRequest::first(10)));
        assert_eq!(found.data.iter().map(|x| x.id).collect::<Vec<_>>(), [b]);
        assert_eq!(ok(store.count_accounts(&read, &red)), 1);
        let account = ok(store.get_account(&read, b));
        assert_eq!(account.signals.health, Some(31.5));
        assert_eq!(account.signals.colour(), Some(Colour::Red));
        assert_eq!(account.signals.forecast_factors, ["logins"]);
        assert!(red.matches(&account));
        // Filters on the other signals, the same in SQL and in memory.
        for (filter, expected) in [
            (
                AccountFilter {
                    risk_min: Some(0.5),
                    ..AccountFilter::default()
                },
                vec![b],
            ),
            (
                AccountFilter {
                    health_change_max: Some(-10.0),
                    ..AccountFilter::default()
                },
                vec![b],
            ),
            (
                AccountFilter {
                    untouched_since: Some(jiff::civil::date(2000, 1, 1)),
                    ..AccountFilter::default()
                },
                vec![],
            ),
            (
                AccountFilter {
                    untouched_since: Some(jiff::civil::date(2100, 1, 1)),
                    ..AccountFilter::default()
                },
                vec![a, b, direct],
            ),
        ] {
            let found: Vec<AccountId> = ok(store.list_accounts(
                &read,
                &filter,
                AccountSort::default(),
                &PageRequest::first(10),
            ))
            .data
            .iter()
            .map(|x| x.id)
            .collect();
            let mut sorted = found.clone();
            sorted.sort();
            let mut wanted = expected.clone();
            wanted.sort();
            assert_eq!(sorted, wanted, "{}: {filter:?}", backend.name);
            assert_eq!(
                ok(store.count_accounts(&read, &filter)),
                expected.len() as u64
            );
            for id in [a, b, direct] {
                let account = ok(store.get_account(&read, id));
                assert_eq!(
                    filter.matches(&account),
                    expected.contains(&id),
                    "{filter:?} on {id}"
                );
            }
        }
        // A partner sees only its own account in the same sorted list.
        let partner = partner_actor(world.partner_a).read();
        let seen = ok(store.list_accounts(
            &partner,
            &AccountFilter::default(),
            sort,
            &PageRequest::first(10),
        ));
        assert_eq!(seen.data.iter().map(|x| x.id).collect::<Vec<_>>(), [a]);
    }
}

#[test]
fn the_last_touch_follows_touchpoints_written_and_deleted() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let (read, write) = (Actor::system().read(), ok(Actor::system().write()));
        let before = ok(store.get_account(&read, world.a.account))
            .signals
            .last_touch;
        let later: jiff::Timestamp = ok("2030-01-02T03:04:05Z".parse());
        let added = ok(store.create_touchpoint(
            &write,
            NewTouchpoint {
                account_id: world.a.account,
                kind: TouchpointKind::Qbr,
                occurred_at: later,
                user_id: None,
                summary: None,
                attendees: Vec::new(),
                notes: None,
                sentiment: None,
            },
        ));
        assert_eq!(
            ok(store.get_account(&read, world.a.account))
                .signals
                .last_touch,
            Some(later),
            "{}",
            backend.name
        );
        ok(store.delete_touchpoint(&write, added.id));
        assert_eq!(
            ok(store.get_account(&read, world.a.account))
                .signals
                .last_touch,
            before,
            "{}",
            backend.name
        );
        let sort = AccountSort {
            field: AccountSortField::LastTouch,
            descending: true,
        };
        ok(store.list_accounts(
            &read,
            &AccountFilter::default(),
            sort,
            &PageRequest::first(10),
        ));
    }
}

#[test]
fn snoozes_are_per_person_until_a_day_and_scoped() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let (read, write) = (Actor::system().read(), ok(Actor::system().write()));
        let me = crate::person(
            store,
            "csm@example.com",
            "CSM",
            mikawaya_domain::access::Role::Csm,
        )
        .id;
        let until = jiff::civil::date(2026, 3, 5);
        let snooze = |account, reason: &str| Snooze {
            account_id: account,
            user_id: me,
            until,
            reason: ok(Text::parse(reason)),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        ok(store.snooze(&write, &snooze(world.a.account, "waiting for their budget")));
        ok(store.snooze(&write, &snooze(world.a.account, "back after the holidays")));
        let now = ok(store.snoozes(&read, me, DAY));
        assert_eq!(now.len(), 1, "{}", backend.name);
        assert_eq!(now[0].reason.as_str(), "back after the holidays");
        assert!(ok(store.snoozes(&read, me, jiff::civil::date(2026, 3, 6))).is_empty());
        // Partner B neither sees A's snooze nor snoozes A's account.
        let b = ok(partner_actor(world.partner_b).write());
        assert!(ok(store.snoozes(&b.read(), me, DAY)).is_empty());
        assert!(store.snooze(&b, &snooze(world.a.account, "x")).is_err());
        assert!(store.wake(&b, me, world.a.account).is_err());
        ok(store.wake(&write, me, world.a.account));
        assert!(ok(store.snoozes(&read, me, DAY)).is_empty());
    }
}

/// A day's signals for more accounts than one statement takes (multi-row upserts of 500):
/// every account gets its row, a second day replaces them, an account given twice keeps
/// its last row, and the last touch stays as the touchpoints made it.
#[test]
fn a_days_signals_for_many_accounts_are_written_whole() {
    use mikawaya_domain::account::NewAccount;
    use mikawaya_domain::value::Name;
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let (read, write, manage) = (
            Actor::system().read(),
            ok(Actor::system().write()),
            ok(Actor::system().manage()),
        );
        let touched = ok(store.get_account(&read, world.a.account))
            .signals
            .last_touch;
        let mut ids: Vec<AccountId> = (0..1203)
            .map(|n| {
                ok(store.create_account(
                    &write,
                    NewAccount::named(ok(Name::parse(&format!("Signals {n}")))),
                ))
                .id
            })
            .collect();
        ids.push(world.a.account);
        let before = ok(store.book_changes(&read, None)).stamp;
        let first: Vec<SignalRow> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| signal(*id, Some((n % 101) as f64), (n % 2 == 0).then_some(0.25)))
            .collect();
        ok(store.put_signals(&manage, DAY, &first));
        // So many are not itemized: the book's changes since before are the whole book.
        let changes = ok(store.book_changes(&read, Some(before)));
        assert!(changes.whole, "{}", backend.name);
        assert_eq!(
            changes.facts.len() as u64,
            ok(store.count_accounts(&read, &mikawaya_domain::account::AccountFilter::default())),
            "{}",
            backend.name
        );
        let day_after = DAY.tomorrow().unwrap_or(DAY);
        // The next day: every account again, the first one twice (its last row counts).
        let mut second: Vec<SignalRow> =
            ids.iter().map(|id| signal(*id, None, Some(0.5))).collect();
        second.push(signal(ids[0], Some(99.0), Some(0.75)));
        ok(store.put_signals(&manage, day_after, &second));
        for (n, expected) in [
            (0, (Some(99.0), Some(0.75))),
            (1, (None, Some(0.5))),
            (500, (None, Some(0.5))),
            (1202, (None, Some(0.5))),
            (1203, (None, Some(0.5))),
        ] {
            let signals = ok(store.get_account(&read, ids[n])).signals;
            assert_eq!(
                (signals.day, signals.health, signals.forecast_risk),
                (Some(day_after), expected.0, expected.1),
                "{}: account {n}",
                backend.name
            );
            assert_eq!(signals.forecast_factors, ["logins"], "{}", backend.name);
        }
        assert_eq!(
            ok(store.get_account(&read, world.a.account))
                .signals
                .last_touch,
            touched,
            "{}",
            backend.name
        );
        assert_eq!(ok(store.signals_day()), Some(day_after), "{}", backend.name);
    }
}

/// A small book's signals are itemized each day; once the book's changes hold more than
/// 100,000 rows the next signals empty them, and a reader older than that reads the whole
/// book (SQLite, where the test can fill the table directly).
#[test]
fn the_books_changes_are_emptied_when_they_grow_past_their_bound() {
    let dir = ok(tempfile::tempdir());
    let store = ok(mikawaya_store::sqlite::SqliteStore::open_dir(dir.path()));
    let world = seed(&store);
    let (read, manage) = (Actor::system().read(), ok(Actor::system().manage()));
    let before = ok(store.book_changes(&read, None)).stamp;
    ok(store.put_signals(&manage, DAY, &[signal(world.a.account, Some(50.0), None)]));
    assert!(
        !ok(store.book_changes(&read, Some(before))).whole,
        "itemized"
    );
    {
        let file = dir
            .path()
            .join(mikawaya_store::sqlite::SqliteStore::FILE_NAME);
        let connection = ok(rusqlite::Connection::open(file));
        ok(connection.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
             INSERT INTO book_changes (stamp, account_id) SELECT 0, i FROM n",
        ));
    }
    ok(store.put_signals(&manage, DAY, &[signal(world.a.account, Some(60.0), None)]));
    let changes = ok(store.book_changes(&read, Some(before)));
    assert!(changes.whole, "emptied: read whole");
    let after = ok(store.book_changes(&read, Some(changes.stamp)));
    assert!(!after.whole && after.facts.is_empty());
}
