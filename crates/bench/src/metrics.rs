//! The metrics benchmark: ten metrics for every account on every day of a year, from
//! Mikawaya's rollups, from a full replay of the raw log, and in the same run with plain SQL
//! in DuckDB (over the Parquet export) and PostgreSQL (over the same events loaded with
//! `COPY`). Every engine's answer is reduced to per-metric checksums (sum of the values and
//! how many are not missing), which must agree.
//!
//! Run with `scripts/bench-metrics.sh` (it starts a throwaway PostgreSQL and sets
//! `MIKAWAYA_BENCH_PG`; DuckDB comes from PyPI). `MIKAWAYA_BENCH_ACCOUNTS` (default 100000)
//! scales it down for a quick look.

use anyhow::{Context, Result, bail};
use jiff::civil::{Date, date};
use mikawaya_analytics::metrics::{Metric, MetricSpec, ObservationDates, UsageSource};
use mikawaya_demo::usage::{UsagePlan, load_usage};
use mikawaya_domain::Actor;
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_usage::rollup::Rollups;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

const FIRST: Date = date(2025, 12, 1);
const LAST: Date = date(2026, 11, 30);
/// Events start here: the first date's windows (28 days, and the 28 before for the
/// change metric) and some history for "days since".
const DATA_START: Date = date(2025, 10, 1);

const SQL: &str = include_str!("../sql/metrics.sql");

/// The ten metrics, in the order of the SQL's result columns.
pub(crate) fn specs() -> Vec<serde_json::Value> {
    use serde_json::json;
    let count = |name: &str, event: &str| json!({"name": name, "kind": "count", "event": event});
    vec![
        count("logins", "Logged In"),
        count("reports", "Report Created"),
        count("dashboards", "Dashboard Viewed"),
        count("events", "*"),
        json!({"name": "rows_exported", "kind": "sum", "event": "Report Exported", "property": "rows"}),
        json!({"name": "pdf_exports", "kind": "count", "event": "Report Exported",
            "where": [{"property": "format", "op": "eq", "value": "pdf"}]}),
        json!({"name": "users", "kind": "distinct_users"}),
        json!({"name": "idle_days", "kind": "days_since"}),
        json!({"name": "reports_per_login", "kind": "ratio",
            "numerator": count("reports", "Report Created"), "denominator": count("logins", "Logged In")}),
        json!({"name": "login_change", "kind": "pct_change", "of": count("logins", "Logged In")}),
    ]
}

/// Per metric: the sum of its values and how many are not missing.
type Checksums = Vec<(f64, u64)>;

fn plans(accounts: u32) -> Vec<UsagePlan> {
    (0..accounts)
        .map(|index| {
            // A fixed spread of value, size, start and churn (no randomness needed here:
            // the generator draws the events from each plan's seed).
            let mix = u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let unit = |shift: u32| ((mix >> shift) & 0xFFFF) as f64 / 65_536.0;
            let start = DATA_START
                .checked_add(jiff::Span::new().days(-400 + (unit(0) * 700.0) as i64))
                .unwrap_or(DATA_START);
            let churned = unit(16) < 0.15;
            let end = if churned {
                start
                    .checked_add(jiff::Span::new().days(120 + (unit(32) * 400.0) as i64))
                    .unwrap_or(LAST)
                    .min(LAST)
            } else {
                LAST
            };
            UsagePlan {
                external_id: format!("ACC-{index:06}"),
                value: unit(48),
                users: 1 + (index % 3),
                start,
                end,
                churned,
                seed: u64::from(index),
            }
        })
        .collect()
}

fn dates() -> Vec<Date> {
    std::iter::successors(Some(FIRST), |day| {
        day.tomorrow().ok().filter(|next| *next <= LAST)
    })
    .collect()
}

/// Every metric for every account on every date, on `threads` threads.
fn compute(
    source: &Rollups,
    metrics: &[Metric],
    accounts: &[String],
    dates: &ObservationDates,
    threads: usize,
) -> Checksums {
    let chunk = accounts.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<Checksums> = std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut sums = vec![(0.0, 0u64); metrics.len()];
                    for (index, account) in part.iter().enumerate() {
                        let subject = mikawaya_analytics::metrics::Subject {
                            id: mikawaya_domain::AccountId::new(index as i64 + 1),
                            usage_key: Some(account.clone()),
                            tenure_start: None,
                        };
                        for (metric, sum) in metrics.iter().zip(sums.iter_mut()) {
                            for value in metric
                                .series(source as &dyn UsageSource, &subject, dates)
                                .into_iter()
                                .flatten()
                            {
                                sum.0 += value;
                                sum.1 += 1;
                            }
                        }
                    }
                    sums
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut total = vec![(0.0, 0u64); metrics.len()];
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            t.0 += p.0;
            t.1 += p.1;
        }
    }
    total
}

fn sql(events: &str, days: &str, rows: &str, format: &str) -> String {
    SQL.replace("{events}", events)
        .replace("{days}", days)
        .replace("{rows}", rows)
        .replace("{format}", format)
        .replace("{start}", &DATA_START.to_string())
        .replace("{first}", &FIRST.to_string())
        .replace("{last}", &LAST.to_string())
}

/// DuckDB (Python package) over the Parquet file: seconds and checksums.
fn duckdb(parquet: &std::path::Path) -> Result<(f64, Checksums)> {
    let query = sql(
        &format!("read_parquet('{}')", parquet.display()),
        &format!("range(DATE '{DATA_START}', DATE '{LAST}' + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)"),
        "TRY_CAST(json_extract_string(properties, '$.rows') AS DOUBLE)",
        "json_extract_string(properties, '$.format')",
    );
    let script = r#"
import json, sys, time, duckdb
query = sys.stdin.read()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
row = con.execute(query).fetchone()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0], "row": [float(v) if v is not None else 0.0 for v in row]}))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting python3 (pip install duckdb)")?;
    child
        .stdin
        .take()
        .context("python stdin")?
        .write_all(query.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("DuckDB run failed (pip install duckdb?)");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let answer: serde_json::Value =
        serde_json::from_str(last).with_context(|| format!("DuckDB's answer: {last}"))?;
    let row: Vec<f64> = serde_json::from_value(answer["row"].clone())?;
    eprintln!("duckdb threads: {}", answer["threads"]);
    Ok((answer["seconds"].as_f64().unwrap_or(0.0), pairs(&row)))
}

fn pairs(row: &[f64]) -> Checksums {
    row.chunks(2)
        .map(|pair| (pair[0], pair.get(1).copied().unwrap_or(0.0) as u64))
        .collect()
}

/// PostgreSQL: loads the events with COPY (not timed), then times the query.
fn postgres(data_dir: &std::path::Path, connection: &str) -> Result<(f64, f64, Checksums)> {
    let mut client = postgres::Client::connect(connection, postgres::NoTls)?;
    client.batch_execute(
        "SET TimeZone = 'UTC'; SET work_mem = '1GB'; SET max_parallel_workers_per_gather = 2;
         DROP TABLE IF EXISTS events;
         CREATE UNLOGGED TABLE events (account_id text, user_id text, event text, type text, \"timestamp\" timestamptz, properties text);",
    )?;
    let started = Instant::now();
    let mut writer = client.copy_in("COPY events FROM STDIN")?;
    let escape = |text: &str| {
        text.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
    };
    let mut failure = None;
    let mut row = String::with_capacity(512);
    mikawaya_ingest::log::scan(&mikawaya_ingest::log_dir(data_dir), |_, _, payload| {
        if failure.is_some() {
            return;
        }
        let event = match mikawaya_usage::record::decode(payload) {
            Ok(event) => event,
            Err(error) => {
                failure = Some(anyhow::anyhow!("{error}"));
                return;
            }
        };
        let text = |value: Option<&str>| value.map_or_else(|| "\\N".to_owned(), escape);
        let when = jiff::Timestamp::from_millisecond(event.timestamp_ms).unwrap_or_default();
        row.clear();
        row.push_str(&text(event.group_id.as_deref()));
        row.push('\t');
        row.push_str(&text(event.user_id.as_deref()));
        row.push('\t');
        row.push_str(&text(event.event.as_deref()));
        row.push('\t');
        row.push_str(event.kind.as_str());
        row.push('\t');
        row.push_str(&when.to_string());
        row.push('\t');
        row.push_str(&text(event.properties.as_deref()));
        row.push('\n');
        if let Err(error) = writer.write_all(row.as_bytes()) {
            failure = Some(error.into());
        }
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    writer.finish()?;
    client.batch_execute("ANALYZE events")?;
    let load = started.elapsed().as_secs_f64();
    let query = sql(
        "events",
        &format!("generate_series(DATE '{DATA_START}', DATE '{LAST}', INTERVAL '1 day') t(d)"),
        "(properties::jsonb ->> 'rows')::float8",
        "(properties::jsonb ->> 'format')",
    );
    let started = Instant::now();
    let answer = client.query_one(&query, &[])?;
    let seconds = started.elapsed().as_secs_f64();
    let row: Vec<f64> = (0..answer.len())
        .map(|i| {
            if i % 2 == 0 {
                answer.get::<_, Option<f64>>(i).unwrap_or(0.0)
            } else {
                answer.get::<_, i64>(i) as f64
            }
        })
        .collect();
    Ok((load, seconds, pairs(&row)))
}

fn agree(ours: &Checksums, theirs: &Checksums) -> bool {
    ours.len() == theirs.len()
        && ours.iter().zip(theirs).all(|(a, b)| {
            a.1 == b.1 && (a.0 - b.0).abs() <= 1e-6 * a.0.abs().max(b.0.abs()).max(1.0)
        })
}

pub fn run() -> Result<()> {
    let accounts: u32 = std::env::var("MIKAWAYA_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let store = Arc::new(SqliteStore::open_dir(&data)?);
    // The metrics are defined first, so the rollups keep the PDF filter from the start.
    let manage = Actor::system().manage()?;
    let mut metrics = Vec::new();
    for json in specs() {
        let spec: MetricSpec = serde_json::from_value(json.clone())?;
        let metric = Metric::check(&spec)?;
        store.put_metric(&manage, metric.name().as_str(), &json.to_string())?;
        metrics.push(metric);
    }
    let plans = plans(accounts);
    let names: Vec<String> = plans.iter().map(|p| p.external_id.clone()).collect();
    let dates = ObservationDates::new(&dates());
    let ingest = Ingest::open(&data, IngestConfig::default(), store.clone())?;
    let started = Instant::now();
    let events = load_usage(&ingest, &plans, DATA_START, &mut |n| {
        eprint!("\rgenerated {n} events");
    })?;
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    let values = (names.len() * dates.len() * metrics.len()) as f64;

    println!("| measurement | result |\n|---|---|");
    println!(
        "| data | {accounts} accounts, {events} events ({DATA_START} to {LAST}), {} daily observation dates ({FIRST} to {LAST}), 10 metrics: {:.0} million values |",
        dates.len(),
        values / 1e6
    );
    let mut ours = Vec::new();
    for threads in [1, 2] {
        let started = Instant::now();
        let sums = ingest.read(|rollups| compute(rollups, &metrics, &names, &dates, threads))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "| Mikawaya from its rollups, {threads} thread{} | {seconds:.2} s ({:.0} million values/s) |",
            if threads == 1 { "" } else { "s" },
            values / seconds / 1e6
        );
        ours.push(seconds);
        if threads == 1 {
            eprintln!("checksums: {sums:?}");
        }
    }
    ingest.shutdown();
    drop(ingest);
    let started = Instant::now();
    let reopened = Ingest::open(&data, IngestConfig::default(), store.clone())?;
    let replayed = started.elapsed().as_secs_f64();
    let checksums = reopened.read(|rollups| compute(rollups, &metrics, &names, &dates, 2))?;
    let full = started.elapsed().as_secs_f64();
    println!(
        "| Mikawaya full recompute from the raw log (replay {replayed:.1} s + metrics, 2 threads) | {full:.2} s |"
    );
    reopened.shutdown();
    drop(reopened);

    let out = dir.path().join("parquet");
    let started = Instant::now();
    let (parquet, rows) = mikawaya_ingest::export::export_parquet(&data, &out)?;
    println!(
        "| Parquet export (`mikawaya events export`), not counted below | {rows} rows, {:.1} MiB, {:.1} s |",
        std::fs::metadata(&parquet)?.len() as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    let (duck, duck_sums) = duckdb(&parquet)?;
    println!(
        "| DuckDB 2.0 (Python), the same table with SQL over the Parquet file | {duck:.2} s; answers {} |",
        if agree(&checksums, &duck_sums) {
            "agree"
        } else {
            "DIFFER"
        }
    );
    if !agree(&checksums, &duck_sums) {
        eprintln!("ours:   {checksums:?}\nduckdb: {duck_sums:?}");
    }
    let best = ours.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "| ratio: Mikawaya from rollups / DuckDB | {:.3} (1 thread), {:.3} (2 threads); target under 0.1 |",
        ours[0] / duck,
        best / duck
    );
    println!(
        "| ratio: Mikawaya full recompute / DuckDB | {:.2}; target at most 1 |",
        full / duck
    );
    if let Ok(connection) = std::env::var("MIKAWAYA_BENCH_PG") {
        let (load, pg, pg_sums) = postgres(&data, &connection)?;
        println!(
            "| PostgreSQL 15, the same SQL over the events loaded with COPY (load {load:.0} s, not counted) | {pg:.1} s; answers {} |",
            if agree(&checksums, &pg_sums) {
                "agree"
            } else {
                "DIFFER"
            }
        );
        if !agree(&checksums, &pg_sums) {
            eprintln!("ours:     {checksums:?}\npostgres: {pg_sums:?}");
        }
        println!(
            "| ratio: Mikawaya from rollups / PostgreSQL | {:.4} (2 threads); full recompute / PostgreSQL {:.3} |",
            best / pg,
            full / pg
        );
    } else {
        println!(
            "| PostgreSQL | skipped (set MIKAWAYA_BENCH_PG or run scripts/bench-metrics.sh) |"
        );
    }
    Ok(())
}
