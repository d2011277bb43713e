//! The rollups' snapshot beside the log, against a real data dir: a start reads it and
//! replays only what came after; what it answers equals a replay of the whole log; message
//! ids it holds still de-duplicate; and a snapshot that no longer fits the log, the time
//! zone or its own bytes is not used.

use mikawaya_ingest::import::{CsvMapping, EventFormat, import_file};
use mikawaya_ingest::{Ingest, IngestConfig, log};
use mikawaya_store::sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;

fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e:?}"))
}

fn config(zone: &str) -> IngestConfig {
    IngestConfig {
        time_zone: ok(jiff::tz::TimeZone::get(zone)),
        snapshot_after_records: 1000,
        ..IngestConfig::default()
    }
}

fn open(dir: &Path, store: &Arc<SqliteStore>, zone: &str) -> Ingest {
    ok(Ingest::open(dir, config(zone), store.clone()))
}

/// Imports `count` events named `prefix`-N from an NDJSON file: group calls (which place
/// users and create accounts), identify calls, tracks attributed by `context.groupId` or
/// by the user's group, with numeric properties.
fn import(ingest: &Ingest, dir: &Path, prefix: &str, count: usize) -> (u64, u64) {
    let lines: Vec<String> = (0..count)
        .map(|n| {
            let (user, account) = (format!("u{}", n % 37), format!("ACC-{}", n % 5));
            let at = format!("2026-03-{:02}T{:02}:00:00Z", 1 + n % 28, n % 24);
            let id = format!("{prefix}-{n}");
            match n % 10 {
                0 => serde_json::json!({"type": "group", "messageId": id, "userId": user, "groupId": account,
                    "traits": {"name": format!("Account {}", n % 5)}, "timestamp": at}),
                1 => serde_json::json!({"type": "identify", "messageId": id, "userId": user,
                    "traits": {"email": format!("{user}@example.com")}, "timestamp": at}),
                2 => serde_json::json!({"type": "track", "messageId": id, "userId": user, "event": "Login",
                    "timestamp": at}),
                _ => serde_json::json!({"type": "track", "messageId": id, "userId": user, "event": "Report Run",
                    "properties": {"rows": n, "ms": n as f64 * 0.1}, "context": {"groupId": account},
                    "timestamp": at}),
            }
            .to_string()
        })
        .collect();
    let file = dir.join(format!("{prefix}.ndjson"));
    ok(std::fs::write(&file, lines.join("\n") + "\n"));
    let summary = ok(ok(import_file(
        ingest,
        &file,
        EventFormat::Ndjson,
        &CsvMapping::default(),
        &mut |_| {},
    )));
    (summary.accepted, summary.duplicates)
}

/// What the rollups answer about the accounts and users imported.
fn answers(ingest: &Ingest) -> String {
    let (from, to) = (
        jiff::civil::date(2026, 2, 25),
        jiff::civil::date(2026, 3, 31),
    );
    ok(ingest.read(|r| {
        let mut out = format!("{} {:?}\n", r.events_applied(), r.catalog());
        for account in (0..5).map(|a| format!("ACC-{a}")) {
            for event in [None, Some("Report Run"), Some("Login")] {
                out += &format!(
                    "{account} {event:?} {:?} {:?} {:?}\n",
                    r.window(&account, event, from, to),
                    r.daily(&account, event, Some("ms"), from, to),
                    r.event_days(&account, event, from, to),
                );
            }
            out += &format!("{:?}\n", r.positions(&account));
        }
        for user in (0..37).map(|u| format!("u{u}")) {
            out += &format!("{user} {:?}\n", r.user_days(&user, from, to));
        }
        out
    }))
}

fn snapshot_file(dir: &Path) -> std::path::PathBuf {
    dir.join("events").join("ROLLUPS")
}

/// Records in the log.
fn records(dir: &Path) -> u64 {
    let mut count = 0;
    ok(log::scan(&dir.join("events"), |_, _, _| count += 1));
    count
}

#[test]
fn a_start_reads_the_snapshot_replays_only_the_rest_and_answers_as_a_full_replay() {
    let dir = ok(tempfile::tempdir());
    let store = Arc::new(ok(SqliteStore::open_dir(dir.path())));
    let ingest = open(dir.path(), &store, "Asia/Tokyo");
    assert_eq!(ingest.snapshot_through(), None);
    // 3,000 records: past the threshold, so the import's end writes a snapshot.
    assert_eq!(import(&ingest, dir.path(), "a", 3000), (3000, 0));
    assert_eq!(ingest.snapshot_through(), Some(2999));
    assert!(snapshot_file(dir.path()).exists());
    // 500 more: under the threshold, no new snapshot (at the import's end or at shutdown).
    assert_eq!(import(&ingest, dir.path(), "b", 500), (500, 0));
    assert_eq!(ingest.snapshot_through(), Some(2999));
    let live = answers(&ingest);
    // A reader beside the holder: the snapshot and the 500 records after it, read-only.
    let reader = ok(Ingest::open_reader(
        dir.path(),
        config("Asia/Tokyo"),
        store.clone(),
    ));
    assert!(reader.is_read_only());
    assert_eq!(answers(&reader), live);
    let file = dir.path().join("b.ndjson");
    let refused = import_file(
        &reader,
        &file,
        EventFormat::Ndjson,
        &CsvMapping::default(),
        &mut |_| {},
    );
    assert!(
        matches!(refused, Err(mikawaya_ingest::IngestError::ReadOnly)),
        "{refused:?}"
    );
    drop(reader);
    assert_eq!(answers(&ingest), live, "the holder goes on as before");
    drop(ingest);

    let reopened = open(dir.path(), &store, "Asia/Tokyo");
    assert_eq!(
        reopened.snapshot_through(),
        Some(2999),
        "the snapshot was read"
    );
    assert_eq!(answers(&reopened), live);
    // Ids held by the snapshot and ids of the records replayed after it both de-duplicate.
    assert_eq!(import(&reopened, dir.path(), "a", 3000), (0, 3000));
    assert_eq!(import(&reopened, dir.path(), "b", 500), (0, 500));
    assert_eq!(import(&reopened, dir.path(), "c", 10), (10, 0));
    let live = answers(&reopened);
    drop(reopened);
    let saved = ok(std::fs::read(snapshot_file(dir.path())));

    // Without the snapshot: the whole log replayed gives the same answers.
    ok(std::fs::remove_file(snapshot_file(dir.path())));
    let replayed = open(dir.path(), &store, "Asia/Tokyo");
    assert_eq!(replayed.snapshot_through(), None);
    assert_eq!(answers(&replayed), live);
    drop(replayed);
    // ... and, having replayed 3,510 records, it wrote a snapshot at shutdown.
    assert!(snapshot_file(dir.path()).exists());

    // A damaged snapshot (one byte) is not used.
    let mut damaged = saved.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    ok(std::fs::write(snapshot_file(dir.path()), &damaged));
    let reopened = open(dir.path(), &store, "Asia/Tokyo");
    assert_eq!(
        reopened.snapshot_through(),
        None,
        "a damaged snapshot is not used"
    );
    assert_eq!(answers(&reopened), live);
    drop(reopened);

    // Days counted in another time zone: not used.
    ok(std::fs::write(snapshot_file(dir.path()), &saved));
    let utc = open(dir.path(), &store, "UTC");
    assert_eq!(utc.snapshot_through(), None);
    drop(utc);

    // A log cut back before the snapshot's last record: not used; the rest is replayed.
    ok(std::fs::write(snapshot_file(dir.path()), &saved));
    let segment = dir.path().join("events").join("00000001.seg");
    let length = ok(std::fs::metadata(&segment)).len();
    ok(ok(std::fs::OpenOptions::new().write(true).open(&segment)).set_len(length / 3));
    let left = records(dir.path());
    assert!(left > 0 && left < 2999, "{left}");
    let cut = open(dir.path(), &store, "Asia/Tokyo");
    assert_eq!(cut.snapshot_through(), None);
    assert_eq!(ok(cut.read(|r| r.events_applied())), left);
    drop(cut);

    // A record half written (as a reader beside a writing server can find one): the
    // reader leaves it out and cuts nothing.
    let whole = ok(std::fs::metadata(&segment)).len();
    let mut file = ok(std::fs::OpenOptions::new().append(true).open(&segment));
    std::io::Write::write_all(&mut file, &[200, 0, 0, 0, 1, 2, 3, 4, 9, 9])
        .unwrap_or_else(|e| panic!("{e}"));
    drop(file);
    let reader = ok(Ingest::open_reader(
        dir.path(),
        config("Asia/Tokyo"),
        store.clone(),
    ));
    assert_eq!(ok(reader.read(|r| r.events_applied())), left);
    assert_eq!(ok(std::fs::metadata(&segment)).len(), whole + 10);
}
