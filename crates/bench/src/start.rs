//! A node's start on a large history: the benchmarks' book (the demo at 100,000 accounts
//! with 14 months of usage, [`crate::desk::book`]) in its data dir, and the same moved
//! into PostgreSQL as `mikawaya migrate` moves it; then a node started on each, once
//! reading every event (no snapshot) and once reading the rollups' snapshot and the events
//! after it. The time is from opening to every acknowledged event applied.
//!
//! Run with `scripts/bench-start.sh` (it starts a throwaway PostgreSQL 15 and sets
//! `MIKAWAYA_BENCH_PG`; `MIKAWAYA_BENCH_ACCOUNTS` scales the book down).

use anyhow::{Context, Result, anyhow};
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens a node on `data` and waits until it applied every acknowledged event: the seconds
/// it took and the events its rollups hold.
fn start(data: &Path, config: IngestConfig, store: Arc<dyn Store>) -> Result<(Ingest, f64, u64)> {
    let started = Instant::now();
    let node = Ingest::open(data, config, store)?;
    node.wait_applied(Duration::from_secs(3600));
    let seconds = started.elapsed().as_secs_f64();
    let applied = node.read(|rollups| rollups.events_applied())?;
    Ok((node, seconds, applied))
}

pub fn run() -> Result<()> {
    let server = std::env::var("MIKAWAYA_BENCH_PG")
        .context("MIKAWAYA_BENCH_PG: run through scripts/bench-start.sh")?;
    let book = crate::desk::book()?;
    let events = book.events as u64;
    let data = book._dir.path().join("desk");
    // The embedded store's node: its snapshot written, then closed.
    book.ingest.snapshot()?;
    book.ingest.shutdown();
    drop(book.ingest);
    let store = book.store;
    let snapshot = mikawaya_ingest::log_dir(&data).join("ROLLUPS");
    let aside = data.join("ROLLUPS.aside");
    std::fs::rename(&snapshot, &aside).context("the embedded store's snapshot")?;
    let (node, sqlite_all, applied) = start(&data, IngestConfig::default(), Arc::clone(&store))?;
    check(applied, events, "embedded, no snapshot")?;
    node.shutdown();
    drop(node);
    std::fs::rename(&aside, &snapshot)?;
    let (node, sqlite_snapshot, applied) =
        start(&data, IngestConfig::default(), Arc::clone(&store))?;
    check(applied, events, "embedded, snapshot")?;
    node.shutdown();
    drop(node);

    // The same book in PostgreSQL.
    let mut admin = postgres::Client::connect(&server, postgres::NoTls)?;
    admin.execute("DROP DATABASE IF EXISTS bench_start", &[])?;
    admin.execute("CREATE DATABASE bench_start", &[])?;
    let url = format!("{server} dbname=bench_start");
    let target = PostgresStore::connect(&url)?;
    target.copy_from_sqlite(&data.join(SqliteStore::FILE_NAME), |_, _| {})?;
    target.analyze()?;
    let started = Instant::now();
    let copied = mikawaya_ingest::copy_events(&data, &url)?;
    let copy = started.elapsed().as_secs_f64();
    if !copied.same {
        return Err(anyhow!("the copied events differ: {copied:?}"));
    }
    let pg: Arc<dyn Store> = Arc::new(target);
    let config = || IngestConfig {
        postgres_url: Some(url.clone()),
        ..IngestConfig::default()
    };
    let nodes = tempfile::tempdir()?;
    let (node, pg_all, applied) = start(&nodes.path().join("first"), config(), Arc::clone(&pg))?;
    check(applied, events, "PostgreSQL, no snapshot")?;
    let started = Instant::now();
    if !node.snapshot()? {
        return Err(anyhow!("no snapshot was written"));
    }
    let written = started.elapsed().as_secs_f64();
    node.shutdown();
    drop(node);
    let (node, pg_snapshot, applied) =
        start(&nodes.path().join("second"), config(), Arc::clone(&pg))?;
    check(applied, events, "PostgreSQL, snapshot")?;
    if node.snapshot_through().is_none() {
        return Err(anyhow!("the second node did not read the snapshot"));
    }
    node.shutdown();

    println!("| a node's start on {events} events | embedded store | PostgreSQL | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| reading every event (no snapshot) | {sqlite_all:.1} s | {pg_all:.1} s | {:.2} |",
        pg_all / sqlite_all
    );
    println!(
        "| reading the rollups' snapshot and the events after it | {sqlite_snapshot:.1} s | {pg_snapshot:.1} s | {:.2} |",
        pg_snapshot / sqlite_snapshot
    );
    println!(
        "| moving the events into PostgreSQL (`migrate`'s copy, compared after) | | {copy:.1} s ({:.0} events/s) | |",
        events as f64 / copy
    );
    println!("| writing the snapshot into PostgreSQL | | {written:.1} s | |");
    Ok(())
}

fn check(applied: u64, events: u64, what: &str) -> Result<()> {
    if applied == events {
        Ok(())
    } else {
        Err(anyhow!("{what}: {applied} events applied of {events}"))
    }
}
