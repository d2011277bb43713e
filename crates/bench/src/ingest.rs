//! Usage ingestion benchmarks: sustained HTTP ingest with durable acks, bulk NDJSON import,
//! bytes on disk and rollup memory per million events; and, in the same run, loading the
//! same events into SQLite and PostgreSQL with their fastest bulk paths.
//!
//! Run with `scripts/bench-ingest.sh` (it starts a throwaway PostgreSQL and sets
//! `MIKAWAYA_BENCH_PG`); without that variable the PostgreSQL row is skipped.

use anyhow::Result;
use mikawaya_ingest::import::EventFormat;
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

const EVENTS: usize = 1_000_000;
const BATCH: usize = 100;
const CLIENTS: usize = 32;

const NAMES: &[&str] = &[
    "Logged In",
    "Dashboard Viewed",
    "Report Created",
    "Report Exported",
    "Workflow Run",
    "Search Performed",
    "Comment Added",
    "File Uploaded",
];

/// One realistic Segment track message (about 420 bytes).
pub(crate) fn message(index: usize, now_ms: i64) -> String {
    let account = index % 5000;
    let user = index % 40_000;
    let when =
        jiff::Timestamp::from_millisecond(now_ms - ((index * 7919) % (20 * 86_400_000)) as i64)
            .unwrap_or_default();
    serde_json::json!({
        "type": "track",
        "messageId": format!("bench-{index:09}"),
        "userId": format!("user-{user}"),
        "event": NAMES[index % NAMES.len()],
        "properties": {"rows": index % 977, "duration_ms": (index * 31) % 20_000, "plan": "pro", "path": format!("/reports/{}", index % 300)},
        "context": {
            "groupId": format!("ACC-{account:05}"),
            "library": {"name": "analytics-python", "version": "2.4.0"},
            "ip": "192.0.2.10",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
            "locale": "ja-JP"
        },
        "timestamp": when.to_string(),
    })
    .to_string()
}

pub fn run() -> Result<()> {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let started = Instant::now();
    let lines: Vec<String> = (0..EVENTS).map(|i| message(i, now_ms)).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    eprintln!(
        "generated {EVENTS} events ({:.0} MiB of JSON) in {:.1} s",
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    println!("| measurement | result |\n|---|---|");
    let dir = tempfile::tempdir()?;

    let http = http_ingest(&lines, &dir.path().join("http"))?;
    println!(
        "| HTTP ingest over loopback: {EVENTS} events in batches of {BATCH} from {CLIENTS} concurrent clients, durable acks | {:.0} events/s ({:.1} s; {} fsyncs, {:.0} events per fsync) |",
        EVENTS as f64 / http.seconds,
        http.seconds,
        http.syncs,
        EVENTS as f64 / http.syncs.max(1) as f64
    );

    let file = dir.path().join("events.ndjson");
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&file)?);
    for line in &lines {
        writer.write_all(line.as_bytes())?;
        writer.write_all(b"\n")?;
    }
    writer.flush()?;
    // On disk before the clock starts: otherwise the kernel writes the file back during
    // the import, and the import is charged for the benchmark's own write.
    writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    let import_dir = dir.path().join("import");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&import_dir)?);
    let ingest = Ingest::open(&import_dir, IngestConfig::default(), Arc::clone(&store))?;
    let started = Instant::now();
    let summary = mikawaya_ingest::import::import_file(
        &ingest,
        &file,
        EventFormat::Ndjson,
        &Default::default(),
        &mut |_| {},
    )?
    .map_err(|lines| anyhow::anyhow!("{} bad lines", lines.len()))?;
    let import_seconds = started.elapsed().as_secs_f64();
    println!(
        "| bulk NDJSON import (`mikawaya import events`), {} events, {:.0} MiB file | {:.0} events/s ({import_seconds:.1} s: one pass, parsed on every core) |",
        summary.accepted,
        bytes as f64 / 1_048_576.0,
        summary.accepted as f64 / import_seconds
    );
    let on_disk = ingest.bytes_on_disk();
    let rollup_bytes = ingest.read(|rollups| rollups.approximate_bytes())?;
    println!(
        "| bytes on disk per million events (log: binary records, JSON parts kept as sent, uncompressed) | {:.0} MiB |",
        on_disk as f64 / 1_048_576.0 * 1e6 / EVENTS as f64
    );
    println!(
        "| rollup memory per million events (5,000 accounts, 40,000 users, 20 days) | {:.0} MiB counted in the structures, plus the de-duplication set ({:.0} MiB: a hash table of 16-byte keys) |",
        rollup_bytes as f64 / 1_048_576.0 * 1e6 / EVENTS as f64,
        // hashbrown: buckets = next power of two of 8/7 × keys, 16 bytes + 1 control byte each.
        ((EVENTS * 8 / 7).next_power_of_two() * 17) as f64 / 1_048_576.0
    );
    ingest.shutdown();
    drop(ingest);
    let started = Instant::now();
    let reopened = Ingest::open(&import_dir, IngestConfig::default(), store)?;
    println!(
        "| restart: replay of the log into rollups | {:.1} s for {EVENTS} events |",
        started.elapsed().as_secs_f64()
    );
    drop(reopened);

    let sqlite_seconds = sqlite_bulk(&lines, &dir.path().join("peer.db"))?;
    println!(
        "| peer: SQLite, same events parsed and inserted in one transaction (journal off, synchronous off) | {:.0} events/s; Mikawaya import is {:.2}× its speed |",
        EVENTS as f64 / sqlite_seconds,
        sqlite_seconds / import_seconds
    );
    match std::env::var("MIKAWAYA_BENCH_PG") {
        Ok(connection) => {
            let pg_seconds = postgres_copy(&lines, &connection)?;
            println!(
                "| peer: PostgreSQL 15, same events parsed and loaded with COPY into an unindexed table | {:.0} events/s; Mikawaya import is {:.2}× its speed |",
                EVENTS as f64 / pg_seconds,
                pg_seconds / import_seconds
            );
        }
        Err(_) => println!("| peer: PostgreSQL | skipped (run through scripts/bench-ingest.sh) |"),
    }
    Ok(())
}

struct HttpResult {
    seconds: f64,
    syncs: u64,
}

fn http_ingest(lines: &[String], data_dir: &std::path::Path) -> Result<HttpResult> {
    let node = crate::nodes::sqlite_node(data_dir)?;
    let ingest = Arc::clone(&node.ingest);
    let seconds = crate::nodes::http(lines, vec![node])?;
    Ok(HttpResult {
        seconds,
        syncs: ingest.syncs(),
    })
}

/// The fields every peer loads, parsed from the same JSON.
#[derive(serde::Deserialize)]
struct PeerEvent<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: std::borrow::Cow<'a, str>,
    #[serde(rename = "userId", borrow)]
    user_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    properties: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    context: &'a serde_json::value::RawValue,
}

fn sqlite_bulk(lines: &[String], path: &std::path::Path) -> Result<f64> {
    let mut connection = rusqlite::Connection::open(path)?;
    connection.execute_batch(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
         CREATE TABLE events (message_id TEXT, user_id TEXT, event TEXT, timestamp TEXT, properties TEXT, context TEXT);",
    )?;
    let started = Instant::now();
    let transaction = connection.transaction()?;
    {
        let mut insert =
            transaction.prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for line in lines {
            let event: PeerEvent<'_> = serde_json::from_str(line)?;
            insert.execute(rusqlite::params![
                event.message_id,
                event.user_id,
                event.event,
                event.timestamp,
                event.properties.get(),
                event.context.get()
            ])?;
        }
    }
    transaction.commit()?;
    Ok(started.elapsed().as_secs_f64())
}

fn postgres_copy(lines: &[String], connection: &str) -> Result<f64> {
    let mut client = postgres::Client::connect(connection, postgres::NoTls)?;
    client.batch_execute(
        "DROP TABLE IF EXISTS events;
         CREATE UNLOGGED TABLE events (message_id text, user_id text, event text, timestamp timestamptz, properties jsonb, context jsonb);",
    )?;
    let escape = |text: &str| {
        text.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
    };
    let started = Instant::now();
    let mut writer = client.copy_in("COPY events FROM STDIN")?;
    let mut row = String::with_capacity(1024);
    for line in lines {
        let event: PeerEvent<'_> = serde_json::from_str(line)?;
        row.clear();
        row.push_str(&escape(&event.message_id));
        row.push('\t');
        row.push_str(&escape(&event.user_id));
        row.push('\t');
        row.push_str(&escape(&event.event));
        row.push('\t');
        row.push_str(&escape(&event.timestamp));
        row.push('\t');
        row.push_str(&escape(event.properties.get()));
        row.push('\t');
        row.push_str(&escape(event.context.get()));
        row.push('\n');
        writer.write_all(row.as_bytes())?;
    }
    writer.finish()?;
    Ok(started.elapsed().as_secs_f64())
}
