//! File imports against a real data dir (SQLite store, event log on disk): a bad line
//! found after whole blocks were already appended rolls the entire import back.

use mikawaya_domain::Actor;
use mikawaya_ingest::import::{CsvMapping, EventFormat, import_file};
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::sync::Arc;

fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e:?}"))
}

fn has_account(store: &SqliteStore, external_id: &str) -> bool {
    ok(store.all_accounts(&Actor::system().read()))
        .iter()
        .any(|a| {
            a.external_id
                .as_ref()
                .is_some_and(|e| e.as_str() == external_id)
        })
}

/// A fresh data dir with its store and a running ingest service.
fn data_dir() -> (tempfile::TempDir, Arc<SqliteStore>, Ingest) {
    let dir = ok(tempfile::tempdir());
    let store = Arc::new(ok(SqliteStore::open_dir(dir.path())));
    let ingest = ok(Ingest::open(
        dir.path(),
        IngestConfig::default(),
        store.clone(),
    ));
    (dir, store, ingest)
}

/// Imports an NDJSON file that must be good.
fn import_ndjson(ingest: &Ingest, file: &std::path::Path) -> mikawaya_ingest::import::EventImport {
    ok(ok(import_file(
        ingest,
        file,
        EventFormat::Ndjson,
        &CsvMapping::default(),
        &mut |_| {},
    )))
}

/// A group call that creates an account, then `tracks` track calls of about 300 bytes.
fn lines(tracks: usize) -> Vec<String> {
    let mut lines = vec![
        serde_json::json!({"type": "group", "userId": "rb-1", "groupId": "ROLLBACK-CO", "traits": {"name": "Rollback Co"}, "timestamp": "2026-03-01T09:00:00Z"}).to_string(),
    ];
    lines.extend((0..tracks).map(|n| {
        serde_json::json!({"type": "track", "messageId": format!("rb-{n}"), "userId": "rb-1", "event": "Report Run",
            "properties": {"rows": n, "note": "x".repeat(150)}, "context": {"groupId": "ROLLBACK-CO"},
            "timestamp": format!("2026-03-{:02}T10:00:00Z", 1 + n % 28)})
        .to_string()
    }));
    lines
}

#[test]
fn a_bad_line_after_appended_blocks_rolls_the_whole_import_back() {
    let (dir, store, ingest) = data_dir();
    let file = dir.path().join("first.ndjson");
    ok(std::fs::write(
        &file,
        "{\"type\":\"track\",\"userId\":\"a\",\"event\":\"Login\",\"context\":{\"groupId\":\"OTHER\"}}\n",
    ));
    let first = import_ndjson(&ingest, &file);
    assert_eq!(first.accepted, 1);
    let bytes = ingest.bytes_on_disk();
    let catalog = ok(ingest.read(|r| r.catalog()));

    // 20,000 lines of ~330 bytes: several 2 MiB blocks are appended before the bad one.
    let mut good = lines(20_000);
    let mut bad = good.clone();
    // One bad line in the second block, one in the last: each reported at its line in the
    // file, though the blocks are parsed apart.
    bad.insert(
        10_000,
        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"\"}".to_owned(),
    );
    bad.push("{\"type\":\"track\",\"event\":\"No User\"}".to_owned());
    let file = dir.path().join("bad.ndjson");
    ok(std::fs::write(&file, bad.join("\n") + "\n"));
    assert!(std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) > 6 << 20);
    let errors = match ok(import_file(
        &ingest,
        &file,
        EventFormat::Ndjson,
        &CsvMapping::default(),
        &mut |_| {},
    )) {
        Err(errors) => errors,
        Ok(summary) => panic!("a bad file was imported: {summary:?}"),
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect::<Vec<_>>(),
        vec![(10_001, "event"), (20_003, "userId")]
    );
    assert_eq!(ingest.bytes_on_disk(), bytes, "the log is cut back");
    assert_eq!(
        ok(ingest.read(|r| (r.events_applied(), r.catalog()))),
        (1, catalog)
    );
    assert!(
        !has_account(&store, "ROLLBACK-CO"),
        "no identity change reached the store"
    );

    // The same events, without the bad line: all new (the rolled-back ids were forgotten).
    good.push(String::new());
    let file = dir.path().join("good.ndjson");
    ok(std::fs::write(&file, good.join("\n")));
    let summary = import_ndjson(&ingest, &file);
    assert_eq!((summary.accepted, summary.duplicates), (20_001, 0));
    assert!(has_account(&store, "ROLLBACK-CO"));
    let reports = ok(ingest.read(|r| {
        r.window(
            "ROLLBACK-CO",
            Some("Report Run"),
            jiff::civil::date(2026, 3, 1),
            jiff::civil::date(2026, 3, 31),
        )
        .count
    }));
    assert_eq!(reports, 20_000);
    ingest.shutdown();
    drop(ingest);
    let reopened = ok(Ingest::open(dir.path(), IngestConfig::default(), store));
    assert_eq!(ok(reopened.read(|r| r.events_applied())), 20_002);
}

#[test]
fn a_csv_import_with_a_bad_row_writes_nothing() {
    let (dir, _store, ingest) = data_dir();
    let mut csv = String::from("account_id,user_id,event,timestamp\n");
    for n in 0..25_000 {
        csv.push_str(&format!(
            "ACC-1,u{},Login,2026-03-01T10:00:{:02}Z\n",
            n % 9,
            n % 60
        ));
    }
    csv.push_str("ACC-1,u1,Login,yesterday\n");
    let file = dir.path().join("events.csv");
    ok(std::fs::write(&file, csv));
    let errors = match ok(import_file(
        &ingest,
        &file,
        EventFormat::Csv,
        &CsvMapping::default(),
        &mut |_| {},
    )) {
        Err(errors) => errors,
        Ok(summary) => panic!("a bad file was imported: {summary:?}"),
    };
    assert_eq!(
        errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![25_002]
    );
    assert_eq!(ingest.bytes_on_disk(), 0);
    assert_eq!(ok(ingest.read(|r| r.events_applied())), 0);
}

#[test]
fn an_import_is_not_rolled_back_over_messages_others_appended() {
    use mikawaya_ingest::Prepared;
    use mikawaya_usage::message::{Received, StoredEvent, parse_batch};
    let (_dir, store, ingest) = data_dir();
    let received = Received {
        at_ms: 1_772_000_000_000,
        oldest_ms: None,
        newest_ms: None,
    };
    let events = |body: &str| -> Prepared {
        ok(parse_batch(body.as_bytes(), 1, received))
            .iter()
            .map(StoredEvent::as_ref)
            .collect()
    };
    ok(ingest.begin_import(0));
    let imported = ingest.append_import(events(
        r#"{"batch":[{"type":"group","userId":"i1","groupId":"IMPORTED-CO","traits":{"name":"Imported Co"}}]}"#,
    ));
    ok(ok(imported.blocking_recv()));
    let other = ingest.append(events(
        r#"{"batch":[{"type":"track","userId":"h1","event":"Login","context":{"groupId":"LIVE"}}]}"#,
    ));
    ok(ok(other.blocking_recv()));
    let refused = ingest.roll_back_import();
    assert!(
        matches!(&refused, Err(mikawaya_ingest::IngestError::Import(reason)) if reason.contains("other messages")),
        "{refused:?}"
    );
    // Both stay, and the import's identity change reached the store after all.
    assert_eq!(ok(ingest.read(|r| r.events_applied())), 2);
    assert!(has_account(&store, "IMPORTED-CO"));
}

#[test]
fn a_log_of_json_records_from_an_earlier_version_is_read_and_extended() {
    use mikawaya_ingest::log::LogWriter;
    use mikawaya_usage::message::{Received, parse_batch};
    let dir = ok(tempfile::tempdir());
    let received = Received {
        at_ms: 1_772_000_000_000,
        oldest_ms: None,
        newest_ms: None,
    };
    let body = r#"{"batch":[
        {"type":"group","messageId":"old-1","userId":"j1","groupId":"JSON-CO","traits":{"name":"Json Co"}},
        {"type":"track","messageId":"old-2","userId":"j1","event":"Report Exported","properties":{"pages":4}},
        {"type":"track","messageId":"old-3","anonymousId":"a1","event":"Login","context":{"groupId":"JSON-CO"}}
    ]}"#;
    let old = ok(parse_batch(body.as_bytes(), 1, received));
    {
        // The layout earlier versions wrote: one JSON object per record.
        let (mut log, _) = ok(LogWriter::open(&mikawaya_ingest::log_dir(dir.path())));
        let payloads: Vec<Vec<u8>> = old.iter().map(|e| ok(serde_json::to_vec(e))).collect();
        ok(log.append(&payloads));
    }
    let store = Arc::new(ok(SqliteStore::open_dir(dir.path())));
    let ingest = ok(Ingest::open(
        dir.path(),
        IngestConfig::default(),
        store.clone(),
    ));
    assert!(has_account(&store, "JSON-CO"));
    let when = jiff::Timestamp::from_millisecond(received.at_ms)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .unwrap_or_default();
    let count = |ingest: &Ingest, event: &str| {
        ok(ingest.read(|r| r.window("JSON-CO", Some(event), when, when))).count
    };
    assert_eq!(count(&ingest, "Report Exported"), 1);
    assert_eq!(count(&ingest, "Login"), 1);
    // Sent again, the old messages are known; a new one is appended in the new layout.
    let again = r#"{"batch":[
        {"type":"track","messageId":"old-2","userId":"j1","event":"Report Exported","properties":{"pages":4}},
        {"type":"track","messageId":"new-1","userId":"j1","event":"Report Exported","properties":{"pages":6}}
    ]}"#;
    let prepared = ok(parse_batch(again.as_bytes(), 1, received))
        .iter()
        .map(mikawaya_usage::message::StoredEvent::as_ref)
        .collect();
    let appended = ok(ok(ingest.append(prepared).blocking_recv()));
    assert_eq!((appended.accepted, appended.duplicates), (1, 1));
    drop(ingest);
    // Both layouts replay together after a restart, sums included.
    let ingest = ok(Ingest::open(dir.path(), IngestConfig::default(), store));
    let window = ok(ingest.read(|r| r.window("JSON-CO", Some("Report Exported"), when, when)));
    assert_eq!(window.count, 2);
    assert_eq!(window.sums.get("pages").copied(), Some(10.0));
    let (events, total) = ok(ingest.account_events("JSON-CO", 0, 10));
    assert_eq!(total, 4);
    let ids: Vec<&str> = events.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, ["new-1", "old-3", "old-2", "old-1"]);
}

#[test]
fn numbers_summed_while_importing_are_those_a_replay_sums_from_the_log() {
    let (dir, store, ingest) = data_dir();
    // Numeric properties read with the message (plain keys), from the stored text
    // (a backslash in the properties), and by serde_json (an escaped key).
    let lines: Vec<String> = (0..3000)
        .map(|n| {
            let properties = match n % 3 {
                0 => serde_json::json!({"rows": n, "ms": f64::from(n) * 1.5, "label": "x"}),
                1 => serde_json::json!({"rows": n, "path": "C:\\reports", "ms": 0.25}),
                _ => serde_json::json!({"rows": n, "ma\u{f1}ana": 1, "ms": -2}),
            };
            let text = serde_json::json!({"type": "track", "messageId": format!("sum-{n}"),
                "userId": format!("u{}", n % 7), "event": "Report Run", "properties": properties,
                "context": {"groupId": "SUMS"}, "timestamp": format!("2026-03-{:02}T10:00:00Z", 1 + n % 28)})
            .to_string();
            // The escaped form of the key, as some senders write it.
            text.replace("ma\u{f1}ana", "ma\\u00f1ana")
        })
        .collect();
    let file = dir.path().join("sums.ndjson");
    ok(std::fs::write(&file, lines.join("\n") + "\n"));
    let imported = import_ndjson(&ingest, &file);
    assert_eq!(imported.accepted, 3000);
    let (from, to) = (
        jiff::civil::date(2026, 3, 1),
        jiff::civil::date(2026, 3, 28),
    );
    let sums = |ingest: &Ingest| {
        ok(ingest.read(|r| {
            ["rows", "ms", "ma\u{f1}ana"]
                .map(|property| r.daily("SUMS", Some("Report Run"), Some(property), from, to))
        }))
    };
    let live = sums(&ingest);
    // Computed by hand: rows sum to 0 + 1 + ... + 2999, `ms` to 1.5 × (0 + 3 + ... + 2997)
    // + 0.25 × 1000 - 2 × 1000, and the escaped key counts 1 in a third of the events.
    assert_eq!(live[0].iter().sum::<f64>(), 4_498_500.0);
    assert_eq!(
        live[1].iter().sum::<f64>(),
        1.5 * 1_498_500.0 + 250.0 - 2000.0
    );
    assert_eq!(live[2].iter().sum::<f64>(), 1000.0);
    ingest.shutdown();
    drop(ingest);
    let reopened = ok(Ingest::open(dir.path(), IngestConfig::default(), store));
    assert_eq!(
        sums(&reopened),
        live,
        "a replay reads the numbers from the stored text"
    );
}
