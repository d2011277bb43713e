//! Benchmarks of the foundation at 100,000 accounts, printed as Markdown for
//! `docs/benchmarks.md`. Run with `cargo run --release -p mikawaya-bench -- foundation`.
//!
//! Each measurement runs on a fresh data dir in a temporary folder, end to end through
//! the same code paths the product uses (demo generator and `Store::import`; CSV parsing
//! and import; the HTTP server over loopback).

use anyhow::{Context, Result, bail};
use mikawaya_demo::{DemoOptions, Locale};
use mikawaya_domain::Actor;
use mikawaya_domain::access::Scope;
use mikawaya_domain::value::Name;
use mikawaya_import::{ImportKind, ImportOptions, parse_file};
use mikawaya_server::{AppState, ServerConfig, auth};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod desk;
mod ingest;
mod journey;
mod metrics;
mod nodes;
mod pages;
mod plans;
mod series;
mod start;
mod voice;

/// The allocator the `mikawaya` binary uses, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCOUNTS: u32 = 100_000;

fn main() -> Result<()> {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "foundation".to_owned());
    match which.as_str() {
        "foundation" => foundation(),
        "ingest" => ingest::run(),
        "pages" => pages::run(),
        "metrics" => metrics::run(),
        "desk" => desk::run(),
        "plans" => plans::run(),
        "journey" => journey::run(),
        "voice" => voice::run(),
        "nodes" => nodes::run(),
        "series" => series::run(),
        "start" => start::run(),
        other => {
            bail!(
                "unknown benchmark '{other}' (known: foundation, ingest, pages, metrics, desk, plans, journey, voice, nodes, series, start)"
            )
        }
    }
}

fn foundation() -> Result<()> {
    println!("| measurement | result |\n|---|---|");
    let dir = tempfile::tempdir()?;

    // 1. The demo company at 100,000 accounts.
    let demo_dir = dir.path().join("demo");
    let store = Arc::new(SqliteStore::open_dir(&demo_dir)?);
    let started = Instant::now();
    let options = DemoOptions {
        accounts: ACCOUNTS,
        seed: 42,
        locale: Locale::En,
        as_of: jiff::civil::date(2026, 11, 1),
    };
    let company = mikawaya_demo::generate(options)?;
    let generated = started.elapsed();
    let hash = auth::hash_password("benchmark password").map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = mikawaya_demo::load(
        store.as_ref(),
        company,
        &hash,
        &demo_dir.join("demo-truth.json"),
    )?;
    let total = started.elapsed();
    println!(
        "| `demo --accounts 100000` ({} accounts, {} contacts, {} subscription rows, {} touchpoints) | {:.1} s (generate {:.1} s, store {:.1} s) |",
        summary.accounts,
        summary.contacts,
        summary.subscriptions,
        summary.touchpoints,
        total.as_secs_f64(),
        generated.as_secs_f64(),
        (total - generated).as_secs_f64()
    );
    let size = std::fs::metadata(demo_dir.join(SqliteStore::FILE_NAME))?.len();
    println!(
        "| store file after the demo | {:.0} MiB |",
        size as f64 / 1_048_576.0
    );

    // 2. Import of a 100,000-row accounts CSV into an empty store.
    let csv = accounts_csv(ACCOUNTS as usize);
    let import_dir = dir.path().join("import");
    let import_store = SqliteStore::open_dir(&import_dir)?;
    let started = Instant::now();
    let parsed = parse_file(
        ImportKind::Accounts,
        csv.as_bytes(),
        &ImportOptions::plain(
            jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date(),
        ),
        &mut |_| {},
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_time = started.elapsed();
    let write = Actor::system()
        .write()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let imported = import_store.import(&write, parsed.batch)?;
    let first = started.elapsed();
    println!(
        "| import of a {}-row accounts CSV ({:.1} MiB), empty store | {:.2} s (parse {:.2} s, write {:.2} s) |",
        imported.rows,
        csv.len() as f64 / 1_048_576.0,
        first.as_secs_f64(),
        parse_time.as_secs_f64(),
        (first - parse_time).as_secs_f64()
    );
    let started = Instant::now();
    let parsed = parse_file(
        ImportKind::Accounts,
        csv.as_bytes(),
        &ImportOptions::plain(
            jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date(),
        ),
        &mut |_| {},
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let again = import_store.import(&write, parsed.batch)?;
    println!(
        "| the same file again (all {} rows are updates) | {:.2} s |",
        again.updated,
        started.elapsed().as_secs_f64()
    );

    // 3. GET /api/v1/accounts with filters at 100,000 accounts, over loopback HTTP.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(api_latency(store, &demo_dir))?;
    Ok(())
}

fn accounts_csv(rows: usize) -> String {
    let stages = ["onboarding", "adoption", "value", "renewal", "expansion"];
    let tiers = ["high", "low", "tech"];
    let mut csv =
        String::from("external_id,name,plan,mrr,currency,contract_start,renewal_date,stage,tier\n");
    for index in 0..rows {
        csv.push_str(&format!(
            "B-{index:06},Benchmark Company {index},pro,{}.50,USD,2025-{:02}-01,2026-{:02}-{:02},{},{}\n",
            100 + index % 9000,
            1 + index % 12,
            1 + index % 12,
            1 + index % 28,
            stages[index % stages.len()],
            tiers[index % tiers.len()]
        ));
    }
    csv
}

async fn api_latency(store: Arc<SqliteStore>, data_dir: &std::path::Path) -> Result<()> {
    let admin = Actor::system()
        .admin()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (secret, hash) = auth::new_token();
    store.create_token(
        &admin,
        Name::parse("bench").map_err(|e| anyhow::anyhow!("{e}"))?,
        Scope::Read,
        None,
        hash,
    )?;
    let ingest = Arc::new(mikawaya_ingest::Ingest::open(
        data_dir,
        mikawaya_ingest::IngestConfig::default(),
        store.clone(),
    )?);
    let state = AppState::new(store, ingest, ServerConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mikawaya_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let queries = [
        ("no filter, by name", "limit=50"),
        ("tier=high, by -mrr", "limit=50&tier=high&sort=-mrr"),
        (
            "stage=renewal, renewal window, by renewal_date",
            "limit=50&stage=renewal&renewal_from=2026-12-01&renewal_to=2027-02-28&sort=renewal_date",
        ),
        ("mrr_min=5000, by -mrr", "limit=50&mrr_min=5000&sort=-mrr"),
        ("q=Media (substring search)", "limit=50&q=Media"),
        ("partner_id=1, by name", "limit=50&partner_id=1"),
    ];
    for (label, query) in queries {
        let url = format!("{base}/api/v1/accounts?{query}");
        for _ in 0..20 {
            client
                .get(&url)
                .bearer_auth(&secret)
                .send()
                .await?
                .error_for_status()?;
        }
        let mut latencies: Vec<Duration> = Vec::with_capacity(500);
        let mut rows = 0;
        for _ in 0..500 {
            let started = Instant::now();
            let body: serde_json::Value = client
                .get(&url)
                .bearer_auth(&secret)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            latencies.push(started.elapsed());
            rows = body["data"].as_array().map_or(0, Vec::len);
        }
        latencies.sort();
        let at = |q: f64| {
            latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "| `GET /api/v1/accounts?{query}` ({label}; {rows} rows/page) | p50 {:.1} ms, p99 {:.1} ms |",
            at(0.5),
            at(0.99)
        );
    }
    // The same filters from 8 concurrent clients (2 cores), 250 requests each.
    let mut tasks = Vec::new();
    let started = Instant::now();
    for worker in 0..8 {
        let (client, secret) = (client.clone(), secret.clone());
        let url = format!(
            "{base}/api/v1/accounts?{}",
            queries[worker % queries.len()].1
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(250);
            for _ in 0..250 {
                let started = Instant::now();
                let reply = client
                    .get(&url)
                    .bearer_auth(&secret)
                    .send()
                    .await?
                    .error_for_status()?;
                reply.bytes().await?;
                latencies.push(started.elapsed());
            }
            Ok::<_, reqwest::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    println!(
        "| the six queries above from 8 concurrent clients, 2,000 requests | p50 {:.1} ms, p99 {:.1} ms, {:.0} requests/s |",
        at(0.5),
        at(0.99),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    let _ = stop.send(());
    server.await.context("joining the server")??;
    Ok(())
}
