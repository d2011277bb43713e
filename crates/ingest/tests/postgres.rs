//! Usage events in PostgreSQL, against a real PostgreSQL 15 server: two nodes on one
//! database, each with its own data dir, read every event either took, in the same order;
//! a message is stored once whichever node took it; a node that starts later reads the
//! whole history back.

use mikawaya_ingest::import::{CsvMapping, EventFormat, import_file};
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e:?}"))
}

fn node(dir: &Path, url: &str) -> Ingest {
    let store: Arc<dyn Store> = Arc::new(ok(PostgresStore::connect(url)));
    let config = IngestConfig {
        postgres_url: Some(url.to_owned()),
        snapshot_after_records: 100,
        ..IngestConfig::default()
    };
    ok(Ingest::open(dir, config, store))
}

/// A node on the embedded store (its own event log), to compare with.
fn embedded_node(dir: &Path) -> Ingest {
    let store = ok(mikawaya_store::sqlite::SqliteStore::open_dir(dir));
    ok(Ingest::open(dir, IngestConfig::default(), Arc::new(store)))
}

/// Writes `count` events named `prefix`-N (group, identify and track calls) as NDJSON.
fn file(dir: &Path, prefix: &str, count: usize) -> std::path::PathBuf {
    let lines: Vec<String> = (0..count)
        .map(|n| {
            let (user, account) = (format!("u{}", n % 13), format!("ACC-{}", n % 3));
            let at = format!("2026-03-{:02}T{:02}:00:00Z", 1 + n % 28, n % 24);
            let id = format!("{prefix}-{n}");
            match n % 10 {
                0 => serde_json::json!({"type": "group", "messageId": id, "userId": user, "groupId": account,
                    "traits": {"name": format!("Account {}", n % 3)}, "timestamp": at}),
                1 => serde_json::json!({"type": "identify", "messageId": id, "userId": user,
                    "traits": {"email": format!("{user}@example.com")}, "timestamp": at}),
                _ => serde_json::json!({"type": "track", "messageId": id, "userId": user, "event": "Report Run",
                    "properties": {"rows": n}, "context": {"groupId": account}, "timestamp": at}),
            }
            .to_string()
        })
        .collect();
    let path = dir.join(format!("{prefix}.ndjson"));
    ok(std::fs::write(&path, lines.join("\n") + "\n"));
    path
}

fn import(ingest: &Ingest, path: &Path) -> (u64, u64) {
    let summary = ok(ok(import_file(
        ingest,
        path,
        EventFormat::Ndjson,
        &CsvMapping::default(),
        &mut |_| {},
    )));
    (summary.accepted, summary.duplicates)
}

/// What the rollups answer: events applied, the catalogue, each account's daily counts and
/// the places of its events.
fn answers(ingest: &Ingest) -> String {
    let (from, to) = (
        jiff::civil::date(2026, 2, 25),
        jiff::civil::date(2026, 3, 31),
    );
    ok(ingest.read(|r| {
        let mut out = format!("{} {:?}\n", r.events_applied(), r.catalog());
        for account in (0..3).map(|a| format!("ACC-{a}")) {
            out += &format!(
                "{account} {:?} {:?} {:?}\n",
                r.window(&account, Some("Report Run"), from, to),
                r.daily(&account, Some("Report Run"), Some("rows"), from, to),
                r.positions(&account),
            );
        }
        out
    }))
}

/// Events as compared across stores: everything but when each store received them.
fn timeline(events: Vec<mikawaya_usage::message::StoredEvent>) -> Vec<String> {
    events
        .into_iter()
        .map(|mut event| {
            event.received_ms = 0;
            format!("{event:?}")
        })
        .collect()
}

/// The events each partition of `usage_event_blocks` holds.
fn placed(client: &mut postgres::Client) -> Vec<(String, i64)> {
    ok(client.query(
        "SELECT tableoid::regclass::text, sum(count)::bigint FROM usage_event_blocks GROUP BY 1",
        &[],
    ))
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect()
}

/// The partition of this month's events (by the database's calendar).
fn this_month(client: &mut postgres::Client) -> String {
    ok(client.query_one(
        "SELECT 'usage_event_blocks_' || to_char(CURRENT_DATE, 'YYYY_MM')",
        &[],
    ))
    .get(0)
}

/// Waits (at most `limit`) until `ingest` answers `expected`; how long it took.
fn until_equal(ingest: &Ingest, expected: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = answers(ingest);
        if now == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "not equal after {limit:?}:\n{now}\nexpected:\n{expected}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_nodes_read_every_event_either_took_and_store_each_message_once() {
    let url = mikawaya_testpg::fresh_database();
    let dir = ok(tempfile::tempdir());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = node(&a_dir, &url);
    let b = node(&b_dir, &url);
    // Node A takes one file, node B another; each reads both within 2 seconds.
    assert_eq!(import(&a, &file(dir.path(), "first", 400)), (400, 0));
    assert_eq!(import(&b, &file(dir.path(), "second", 300)), (300, 0));
    let on_a = answers(&a);
    assert!(on_a.starts_with("700 "), "{on_a}");
    let waited = until_equal(&b, &on_a, Duration::from_secs(2));
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // The same messages again, through either node: stored once.
    assert_eq!(import(&b, &file(dir.path(), "first", 400)), (0, 400));
    assert_eq!(import(&a, &file(dir.path(), "second", 300)), (0, 300));
    assert_eq!(answers(&a), on_a);
    // The group calls made the accounts in the shared store, once.
    let store = ok(PostgresStore::connect(&url));
    let accounts = ok(store.all_accounts(&mikawaya_domain::Actor::system().read()));
    let mut names: Vec<String> = accounts.iter().map(|a| a.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["Account 0", "Account 1", "Account 2"]);
    drop((a, b));
    // A node started afterwards reads the whole history back, in the same order.
    let c = node(&dir.path().join("c"), &url);
    assert_eq!(answers(&c), on_a);
    // The rollups' snapshot (written when a node stopped) is in the database: a node
    // starting reads it and the events after it, and answers the same.
    assert_eq!(c.snapshot_through(), Some(699));
    assert_eq!(import(&c, &file(dir.path(), "third", 150)), (150, 0));
    let with_third = answers(&c);
    // The end of an import writes one (as with the embedded store's log).
    assert_eq!(c.snapshot_through(), Some(849));
    assert!(!ok(c.snapshot()), "nothing new since");
    drop(c);
    let d = node(&dir.path().join("d"), &url);
    assert_eq!(d.snapshot_through(), Some(849));
    assert_eq!(answers(&d), with_third);
}

/// An import's blocks go through `COPY`: every message is stored once, the repeats within
/// the file and of an earlier import are counted as duplicates, and another node reads the
/// same answers as a node fed by HTTP-sized groups would.
#[test]
fn a_bulk_import_through_copy_stores_each_message_once() {
    let url = mikawaya_testpg::fresh_database();
    let dir = ok(tempfile::tempdir());
    let a = node(&dir.path().join("a"), &url);
    let big = file(dir.path(), "bulk", 20_000);
    // The same 20,000 messages twice in one file, then the file once more.
    let twice = dir.path().join("twice.ndjson");
    let body = ok(std::fs::read_to_string(&big));
    ok(std::fs::write(&twice, format!("{body}{body}")));
    assert_eq!(import(&a, &twice), (20_000, 20_000));
    assert_eq!(import(&a, &big), (0, 20_000));
    let on_a = answers(&a);
    assert!(on_a.starts_with("20000 "), "{on_a}");
    // Each message once in the tables.
    let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
    let counted: (i64, i64) = {
        let row = ok(client.query_one(
            "SELECT (SELECT sum(count)::bigint FROM usage_event_blocks), \
             (SELECT COUNT(*) FROM usage_message_keys)",
            &[],
        ));
        (row.get(0), row.get(1))
    };
    assert_eq!(counted, (20_000, 20_000));
    // A second node reads it back alike, and the same messages sent in small groups
    // (multi-row inserts) are duplicates of those that came through COPY.
    let b = node(&dir.path().join("b"), &url);
    until_equal(&b, &on_a, Duration::from_secs(5));
    let small = file(dir.path(), "bulk", 300);
    assert_eq!(import(&b, &small), (0, 300));
    // An account's raw events, read one by one out of their blocks, are those a node on
    // the embedded store keeps for the same file, page by page across blocks.
    let embedded = embedded_node(&dir.path().join("embedded"));
    let big = file(dir.path(), "bulk", 20_000);
    assert_eq!(import(&embedded, &big), (20_000, 0));
    for (account, skip, limit) in [
        ("ACC-1", 0, 300),
        ("ACC-2", 250, 300),
        ("ACC-0", 6_500, 100),
    ] {
        let from_blocks = ok(b.account_events(account, skip, limit));
        let from_log = ok(embedded.account_events(account, skip, limit));
        assert_eq!(from_blocks.1, from_log.1, "{account}");
        assert_eq!(
            from_blocks.0.len(),
            from_log.0.len().min(limit),
            "{account}"
        );
        assert!(
            timeline(from_blocks.0) == timeline(from_log.0),
            "{account} from {skip}"
        );
    }
    // Every block is in this month's partition, none in the default one.
    assert_eq!(placed(&mut client), [(this_month(&mut client), 20_000)]);
}

/// A database whose events were stored one row each (schema version 19) keeps them when
/// it moves to blocks: a node reads the same answers, and this month's events leave the
/// default partition for the month's own as soon as a node writes.
#[test]
fn events_stored_one_row_each_are_kept_as_blocks() {
    // The events as one node stored them.
    let url = mikawaya_testpg::fresh_database();
    let dir = ok(tempfile::tempdir());
    let a = node(&dir.path().join("a"), &url);
    assert_eq!(import(&a, &file(dir.path(), "old", 700)), (700, 0));
    let before = answers(&a);
    let events = ok(a.account_events("ACC-1", 0, 1_000));
    drop(a);
    let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
    let records: Vec<Vec<u8>> = ok(client.query(
        "SELECT first, ends, records, packed FROM usage_event_blocks ORDER BY first",
        &[],
    ))
    .iter()
    .flat_map(|row| {
        let (ends, records): (Vec<i32>, Vec<u8>) = (row.get(1), row.get(2));
        assert!(row.get::<_, bool>(3), "a block written now is packed");
        let records = ok(lz4_flex::block::decompress_size_prepended(&records));
        let starts = std::iter::once(0).chain(ends.clone());
        starts
            .zip(ends)
            .map(|(start, end)| records[start as usize..end as usize].to_vec())
            .collect::<Vec<_>>()
    })
    .collect();
    assert_eq!(records.len(), 700);
    let keys: Vec<Vec<u8>> = ok(client.query("SELECT key FROM usage_message_keys", &[]))
        .iter()
        .map(|row| row.get(0))
        .collect();
    // A database at version 19, holding those events one row each, as that version did.
    let old_url = mikawaya_testpg::fresh_database();
    let mut old = ok(postgres::Client::connect(&old_url, postgres::NoTls));
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/postgres");
    ok(old.batch_execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, \
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    ));
    for file in ["0018_baseline.sql", "0019_nodes.sql"] {
        ok(old.batch_execute(&ok(std::fs::read_to_string(migrations.join(file)))));
    }
    ok(old.execute(
        "INSERT INTO schema_migrations (version) SELECT generate_series(1, 19)",
        &[],
    ));
    let sequences: Vec<i64> = (0..700).collect();
    ok(old.execute(
        "INSERT INTO usage_events (sequence, payload) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        &[&sequences, &records],
    ));
    ok(old.execute(
        "INSERT INTO usage_message_keys (key) SELECT unnest($1::bytea[])",
        &[&keys],
    ));
    ok(old.execute("UPDATE usage_sequence SET next = 700", &[]));
    // The store moves it to blocks; a node reads it as before.
    let migrated = node(&dir.path().join("b"), &old_url);
    assert_eq!(answers(&migrated), before);
    assert_eq!(
        format!("{:?}", ok(migrated.account_events("ACC-1", 0, 1_000))),
        format!("{events:?}")
    );
    let in_default: i64 =
        ok(old.query_one("SELECT count(*) FROM usage_event_blocks_default", &[])).get(0);
    assert_eq!(in_default, 700, "one block per event, as migrated");
    // The messages are known: sending them again stores nothing; new ones are stored,
    // and the node that wrote made this month's partition, moving the month's events in.
    assert_eq!(import(&migrated, &file(dir.path(), "old", 700)), (0, 700));
    assert_eq!(import(&migrated, &file(dir.path(), "new", 50)), (50, 0));
    assert_eq!(placed(&mut old), [(this_month(&mut old), 750)]);
    assert!(answers(&migrated).starts_with("750 "));
    // An account's timeline reads blocks of both kinds (the migrated ones as stored, the
    // new ones packed by the node) as the embedded store keeps the same files.
    let embedded = embedded_node(&dir.path().join("embedded"));
    assert_eq!(import(&embedded, &file(dir.path(), "old", 700)), (700, 0));
    assert_eq!(import(&embedded, &file(dir.path(), "new", 50)), (50, 0));
    let (from_blocks, counted) = ok(migrated.account_events("ACC-1", 0, 1_000));
    let from_log = ok(embedded.account_events("ACC-1", 0, 1_000));
    assert_eq!(counted, from_log.1);
    assert!(counted > events.1);
    assert!(timeline(from_blocks) == timeline(from_log.0));
}

/// An old month leaves the database as docs/operations.md says (detached and dropped once
/// the rollups' snapshot covers it): a node starting afterwards answers as before from the
/// snapshot, and an account's raw events are those still in the database.
#[test]
fn an_archived_month_leaves_the_answers_as_they_were() {
    let url = mikawaya_testpg::fresh_database();
    let dir = ok(tempfile::tempdir());
    let a = node(&dir.path().join("a"), &url);
    assert_eq!(import(&a, &file(dir.path(), "january", 700)), (700, 0));
    // Those events were received in January 2020.
    let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
    ok(client.batch_execute(
        "CREATE TABLE usage_event_blocks_2020_01 PARTITION OF usage_event_blocks \
             FOR VALUES FROM ('2020-01-01') TO ('2020-02-01'); \
         UPDATE usage_event_blocks SET received_on = '2020-01-15'",
    ));
    assert_eq!(import(&a, &file(dir.path(), "now", 300)), (300, 0));
    let before = answers(&a);
    let total = ok(a.account_events("ACC-1", 0, 2_000)).1;
    drop(a);
    let through: i64 = ok(client.query_one("SELECT through FROM rollup_snapshots", &[])).get(0);
    let last_archived: i64 = ok(client.query_one(
        "SELECT max(first + count - 1) FROM usage_event_blocks_2020_01",
        &[],
    ))
    .get(0);
    assert!(last_archived < through, "{last_archived} < {through}");
    ok(client.batch_execute(
        "ALTER TABLE usage_event_blocks DETACH PARTITION usage_event_blocks_2020_01; \
         DROP TABLE usage_event_blocks_2020_01",
    ));
    let b = node(&dir.path().join("b"), &url);
    assert_eq!(answers(&b), before);
    let (events, counted) = ok(b.account_events("ACC-1", 0, 2_000));
    assert_eq!(counted, total, "the rollups still count every event");
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|event| event.message_id.starts_with("now-")),
        "only the events still in the database are listed"
    );
    // New events go on being stored and read.
    assert_eq!(import(&b, &file(dir.path(), "later", 30)), (30, 0));
    assert!(answers(&b).starts_with("1030 "));
}
