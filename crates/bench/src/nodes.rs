//! Outgrowing one machine: HTTP ingest with durable acknowledgements on one node over the
//! embedded store, one node over PostgreSQL and three nodes over one PostgreSQL (three
//! servers in this process, each with its own store connections and usage service, the
//! clients sending round-robin), and a bulk import into PostgreSQL; the same events, in
//! the same run.
//!
//! Run with `scripts/bench-nodes.sh` (it starts a throwaway PostgreSQL 15 with `fsync=on`
//! and sets `MIKAWAYA_BENCH_PG`). `MIKAWAYA_BENCH_NODES=http` or `=import` measures only
//! that half (each with its embedded-store baseline), to profile one; `=one` or `=three`
//! only the HTTP ingest of one or of three nodes on PostgreSQL (after the same baseline).

use anyhow::{Context, Result};
use base64::Engine;
use mikawaya_domain::Actor;
use mikawaya_domain::value::Name;
use mikawaya_ingest::import::EventFormat;
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_server::{AppState, ServerConfig, auth};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const EVENTS: usize = 300_000;
const BATCH: usize = 100;
/// Concurrent clients, each waiting for its `200` before sending again (`MIKAWAYA_BENCH_CLIENTS`
/// sets another number).
const CLIENTS: usize = 32;

fn client_count() -> usize {
    std::env::var("MIKAWAYA_BENCH_CLIENTS")
        .ok()
        .and_then(|clients| clients.parse().ok())
        .filter(|clients| *clients > 0)
        .unwrap_or(CLIENTS)
}

pub(crate) struct Node {
    store: Arc<dyn Store>,
    pub(crate) ingest: Arc<Ingest>,
}

fn new_database(server: &str, name: &str) -> Result<String> {
    let mut client = postgres::Client::connect(server, postgres::NoTls)?;
    client.execute(&format!("DROP DATABASE IF EXISTS {name}"), &[])?;
    client.execute(&format!("CREATE DATABASE {name}"), &[])?;
    Ok(format!("{server} dbname={name}"))
}

fn postgres_node(url: &str, dir: &Path) -> Result<Node> {
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(url)?);
    let config = IngestConfig {
        postgres_url: Some(url.to_owned()),
        ..IngestConfig::default()
    };
    let ingest = Arc::new(Ingest::open(dir, config, Arc::clone(&store))?);
    Ok(Node { store, ingest })
}

pub(crate) fn sqlite_node(dir: &Path) -> Result<Node> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir)?);
    let ingest = Arc::new(Ingest::open(
        dir,
        IngestConfig::default(),
        Arc::clone(&store),
    )?);
    Ok(Node { store, ingest })
}

pub fn run() -> Result<()> {
    let server = std::env::var("MIKAWAYA_BENCH_PG")
        .context("MIKAWAYA_BENCH_PG: run through scripts/bench-nodes.sh")?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let lines: Vec<String> = (0..EVENTS)
        .map(|i| crate::ingest::message(i, now_ms))
        .collect();
    let dir = tempfile::tempdir()?;
    println!(
        "| measurement ({EVENTS} events, batches of {BATCH}, {} clients) | events/s | ratio |\n|---|---|---|",
        client_count()
    );

    let only = std::env::var("MIKAWAYA_BENCH_NODES").unwrap_or_default();
    if only != "import" {
        http_rows(&server, &lines, dir.path(), &only)?;
    }
    if !matches!(only.as_str(), "http" | "one" | "three") {
        import_rows(&server, &lines, dir.path())?;
    }
    Ok(())
}

/// The HTTP ingest rows: one node on each store, then three nodes on PostgreSQL.
fn http_rows(server: &str, lines: &[String], dir: &Path, only: &str) -> Result<()> {
    let sqlite = http(lines, vec![sqlite_node(&dir.join("sqlite"))?])?;
    println!(
        "| HTTP ingest, one node, embedded store (fdatasync per group) | {:.0} | 1.00 |",
        EVENTS as f64 / sqlite
    );

    if only != "three" {
        let one = new_database(server, "bench_one")?;
        let pg_one = http(lines, vec![postgres_node(&one, &dir.join("one"))?])?;
        println!(
            "| HTTP ingest, one node, PostgreSQL (commit per group) | {:.0} | {:.2} |",
            EVENTS as f64 / pg_one,
            sqlite / pg_one
        );
    }
    if only == "one" {
        return Ok(());
    }

    let three = new_database(server, "bench_three")?;
    let nodes = (0..3)
        .map(|n| postgres_node(&three, &dir.join(format!("three-{n}"))))
        .collect::<Result<Vec<_>>>()?;
    let pg_three = http(lines, nodes)?;
    println!(
        "| HTTP ingest, three nodes, one PostgreSQL | {:.0} | {:.2} |",
        EVENTS as f64 / pg_three,
        sqlite / pg_three
    );
    Ok(())
}

/// The bulk import rows: into each store, then a node starting on what was imported.
fn import_rows(server: &str, lines: &[String], dir: &Path) -> Result<()> {
    let file = dir.join("events.ndjson");
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&file)?);
    for line in lines {
        writer.write_all(line.as_bytes())?;
        writer.write_all(b"\n")?;
    }
    writer.flush()?;
    let import = |node: Node| -> Result<f64> {
        let started = Instant::now();
        mikawaya_ingest::import::import_file(
            &node.ingest,
            &file,
            EventFormat::Ndjson,
            &Default::default(),
            &mut |_| {},
        )?
        .map_err(|lines| anyhow::anyhow!("{} bad lines", lines.len()))?;
        node.ingest
            .wait_applied(std::time::Duration::from_secs(600));
        let seconds = started.elapsed().as_secs_f64();
        node.ingest.shutdown();
        Ok(seconds)
    };
    let sqlite_import = import(sqlite_node(&dir.join("sqlite-import"))?)?;
    println!(
        "| bulk NDJSON import, embedded store | {:.0} | 1.00 |",
        EVENTS as f64 / sqlite_import
    );
    let bulk = new_database(server, "bench_import")?;
    let pg_import = import(postgres_node(&bulk, &dir.join("import"))?)?;
    println!(
        "| bulk NDJSON import into PostgreSQL (binary COPY per group of 2,048 events or more) | {:.0} | {:.2} |",
        EVENTS as f64 / pg_import,
        sqlite_import / pg_import
    );
    for connections in [1, 2] {
        let floor = keys_alone(server, connections)?;
        println!(
            "| peer: PostgreSQL alone, binary COPY of {EVENTS} new 16-byte keys into `usage_message_keys`, groups of {IMPORT_GROUP} sorted, a commit each, {connections} connection(s) (the floor of one unique key per message) | {:.0} | {:.2} |",
            EVENTS as f64 / floor,
            sqlite_import / floor
        );
    }
    let started = Instant::now();
    let restarted = postgres_node(&bulk, &dir.join("restart"))?;
    let events = restarted.ingest.read(|rollups| rollups.events_applied())?;
    println!(
        "| a node starting on those {events} events in PostgreSQL (no snapshot yet) | {:.1} s | |",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The events an import hands the writer at a time (its chunks).
const IMPORT_GROUP: usize = 8192;

/// PostgreSQL alone doing the one thing an import cannot skip: a unique key per message.
/// Into a new database migrated as a node migrates it, the keys of [`EVENTS`] messages
/// (16 pseudo-random bytes each, as the XXH3 hash of a write key and message id is) go
/// through binary `COPY`, sorted in groups of [`IMPORT_GROUP`], one transaction a group,
/// as the import sends them, over `connections` connections taking groups in turn; seconds.
fn keys_alone(server: &str, connections: usize) -> Result<f64> {
    let url = new_database(server, "bench_keys")?;
    drop(PostgresStore::connect(&url)?);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        // splitmix64: even, unrelated bits, no dependency.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let groups: Vec<Vec<Vec<u8>>> = (0..EVENTS)
        .map(|_| {
            ((u128::from(next()) << 64) | u128::from(next()))
                .to_be_bytes()
                .to_vec()
        })
        .collect::<Vec<_>>()
        .chunks(IMPORT_GROUP)
        .map(|group| {
            let mut group = group.to_vec();
            group.sort_unstable();
            group
        })
        .collect();
    let clients = (0..connections)
        .map(|_| postgres::Client::connect(&url, postgres::NoTls))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(worker, mut client)| {
                let groups = &groups;
                scope.spawn(move || -> Result<()> {
                    for group in groups.iter().skip(worker).step_by(connections) {
                        let mut transaction = client.transaction()?;
                        let sink = transaction
                            .copy_in("COPY usage_message_keys (key) FROM STDIN (FORMAT binary)")?;
                        let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(
                            sink,
                            &[postgres::types::Type::BYTEA],
                        );
                        for key in group {
                            writer.write(&[key])?;
                        }
                        writer.finish()?;
                        transaction.commit()?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))?
        })
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// Sends every line as `/v1/batch` bodies, round-robin over the nodes' servers; seconds.
pub(crate) fn http(lines: &[String], nodes: Vec<Node>) -> Result<f64> {
    let admin = Actor::system()
        .admin()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (key, hash) = auth::new_write_key();
    nodes[0].store.create_write_key(
        &admin,
        Name::parse("bench").map_err(|e| anyhow::anyhow!("{e}"))?,
        hash,
    )?;
    let bodies: Arc<Vec<String>> = Arc::new(
        lines
            .chunks(BATCH)
            .map(|chunk| format!("{{\"batch\":[{}]}}", chunk.join(",")))
            .collect(),
    );
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ingests: Vec<Arc<Ingest>> = nodes.iter().map(|node| Arc::clone(&node.ingest)).collect();
    let seconds = runtime.block_on(async {
        let mut urls = Vec::new();
        let mut stops = Vec::new();
        let mut servers = Vec::new();
        for node in &nodes {
            let state = AppState::new(
                Arc::clone(&node.store),
                Arc::clone(&node.ingest),
                ServerConfig::default(),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            urls.push(format!("http://{}/v1/batch", listener.local_addr()?));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            stops.push(stop);
            servers.push(tokio::spawn(mikawaya_server::serve(
                listener,
                state,
                async move {
                    let _ = stopped.await;
                },
            )));
        }
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..client_count() {
            let (bodies, next, urls, authorization) = (
                Arc::clone(&bodies),
                Arc::clone(&next),
                urls.clone(),
                authorization.clone(),
            );
            clients.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(index) else { break };
                    let reply = http
                        .post(&urls[index % urls.len()])
                        .header("authorization", &authorization)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await?;
                    anyhow::ensure!(
                        reply.status() == 200,
                        "batch {index} refused: {}",
                        reply.text().await.unwrap_or_default()
                    );
                }
                Ok::<(), anyhow::Error>(())
            }));
        }
        for client in clients {
            client.await??;
        }
        let seconds = started.elapsed().as_secs_f64();
        for stop in stops {
            let _ = stop.send(());
        }
        for server in servers {
            server.await.context("joining a server")??;
        }
        Ok::<f64, anyhow::Error>(seconds)
    })?;
    drop(runtime);
    for ingest in ingests {
        ingest.shutdown();
    }
    Ok(seconds)
}
