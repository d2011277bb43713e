//! Metric series at 100,000 accounts on both engines: the benchmarks' book (the demo with
//! 14 months of usage, [`crate::desk::book`]), its store copied into PostgreSQL when
//! `MIKAWAYA_BENCH_PG` names a server (`scripts/bench-series.sh` starts one), then on each
//! store the series work of the daily run: every defined metric's value for every account
//! on the day, and one metric's whole history (`series::full_days`: the last 30 days daily,
//! weekly back 18 months), computed from the same rollups and written to the store. The
//! metrics are the metrics benchmark's ten.

use anyhow::{Result, anyhow};
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Instant;

pub fn run() -> Result<()> {
    let book = crate::desk::book()?;
    let read = Actor::system().read();
    let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
    let mut stores: Vec<(&str, Arc<dyn Store>)> = vec![("embedded store", Arc::clone(&book.store))];
    if let Ok(server) = std::env::var("MIKAWAYA_BENCH_PG") {
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)?;
        admin.execute("DROP DATABASE IF EXISTS bench_series", &[])?;
        admin.execute("CREATE DATABASE bench_series", &[])?;
        let url = format!("{server} dbname=bench_series");
        let target = mikawaya_store::postgresql::PostgresStore::connect(&url)?;
        let file = book._dir.path().join("desk").join(SqliteStore::FILE_NAME);
        target.copy_from_sqlite(&file, |_, _| {})?;
        target.analyze()?;
        stores.push(("PostgreSQL", Arc::new(target)));
    }
    // The metrics benchmark's ten metrics (counts, a sum, a filter, distinct users, days
    // since, a ratio, a change), defined on each store as a user defines them.
    for (_, store) in &stores {
        for spec in crate::metrics::specs() {
            let name = spec["name"].as_str().unwrap_or_default().to_owned();
            store.put_metric(&manage, &name, &spec.to_string())?;
        }
    }
    let accounts = book.store.count_accounts(&read, &Default::default())?;
    let metrics = mikawaya_app::series::defined(book.store.as_ref(), None)?;
    let history = mikawaya_app::series::full_days(book.as_of);
    println!(
        "| metric series ({accounts} accounts, {} events, {} metrics) | {} |\n|---|{}",
        book.events,
        metrics.len(),
        stores
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(stores.len())
    );
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    for (_, store) in &stores {
        let facts = mikawaya_playbooks::facts::account_facts(store.as_ref(), &read)?;
        let timed = |metrics: &[mikawaya_analytics::metrics::Metric],
                     days: &[jiff::civil::Date]|
         -> Result<(usize, f64)> {
            let started = Instant::now();
            let written = book
                .ingest
                .read(|usage| {
                    mikawaya_app::series::compute(
                        store.as_ref(),
                        &manage,
                        &read,
                        usage,
                        &facts,
                        metrics,
                        days,
                        &|| true,
                    )
                })
                .map_err(|e| anyhow!("{e}"))??;
            Ok((written, started.elapsed().as_secs_f64()))
        };
        let (day_values, day) = timed(&metrics, &[book.as_of])?;
        let first = metrics
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("the demo defines metrics"))?;
        let (history_values, whole) = timed(std::slice::from_ref(&first), &history)?;
        let measured = [
            (
                format!("the day's values of every metric ({day_values} values)"),
                day,
            ),
            (
                format!(
                    "one metric's history, {} days ({history_values} values)",
                    history.len()
                ),
                whole,
            ),
        ];
        for (index, (label, seconds)) in measured.into_iter().enumerate() {
            match rows.get_mut(index) {
                Some(row) => row.1.push(seconds),
                None => rows.push((label, vec![seconds])),
            }
        }
    }
    for (label, seconds) in rows {
        let cells: Vec<String> = seconds.iter().map(|s| format!("{s:.2} s")).collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    book.ingest.shutdown();
    Ok(())
}
