//! The leader's desk at 100,000 accounts: the demo company with 14 months of product usage
//! (users capped at three per account so the log stays near the metrics benchmark's 20
//! million events), then the scorecard editor's draft backtest (a draft beside the cards
//! in force, twelve monthly observation dates, the same observations) and a suggested card,
//! both through `mikawaya_app::scorecards` as the page and the API call them.
//! Run with `cargo run --release -p mikawaya-bench -- desk` (`MIKAWAYA_BENCH_ACCOUNTS`
//! scales it down).

use anyhow::{Result, anyhow};
use mikawaya_analytics::scorecard::{CardSetSpec, Scorecard};
use mikawaya_app::backtest::HistoryCache;
use mikawaya_app::forecast::Plan;
use mikawaya_demo::{DemoOptions, Locale};
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Instant;

/// The demo company at `accounts` accounts with 14 months of product usage through the
/// ingest path (users capped at three per account), in a temporary data dir.
pub(crate) struct Book {
    /// Keeps the data dir alive.
    pub _dir: tempfile::TempDir,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The event log and rollups.
    pub ingest: Ingest,
    /// The company's today.
    pub as_of: jiff::civil::Date,
    /// Events written.
    pub events: usize,
}

/// The benchmarks' book of `MIKAWAYA_BENCH_ACCOUNTS` accounts (default 100,000).
pub(crate) fn book() -> Result<Book> {
    let accounts: u32 = std::env::var("MIKAWAYA_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("desk");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(&data)?);
    let as_of = jiff::civil::date(2026, 11, 1);
    let mut company = mikawaya_demo::generate(DemoOptions {
        accounts,
        seed: 42,
        locale: Locale::En,
        as_of,
    })?;
    let mut plans = std::mem::take(&mut company.usage);
    for plan in &mut plans {
        plan.users = plan.users.min(3);
    }
    mikawaya_demo::load(store.as_ref(), company, "x", &data.join("demo-truth.json"))?;
    let ingest = Ingest::open(&data, IngestConfig::default(), Arc::clone(&store))?;
    let started = Instant::now();
    let window = as_of.checked_sub(jiff::Span::new().months(14))?;
    let events = mikawaya_demo::usage::load_usage(&ingest, &plans, window, &mut |_| {})?;
    eprintln!(
        "{events} events written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Book {
        _dir: dir,
        store,
        ingest,
        as_of,
        events: usize::try_from(events).unwrap_or(usize::MAX),
    })
}

pub fn run() -> Result<()> {
    let Book {
        _dir,
        store,
        ingest,
        as_of,
        events,
    } = book()?;
    let accounts = store.count_accounts(
        &mikawaya_domain::Actor::system().read(),
        &Default::default(),
    )?;
    let read = mikawaya_domain::Actor::system().read();
    let draft = CardSetSpec {
        default: Some(Scorecard::default_card().spec().clone()),
        segments: Vec::new(),
    };
    let plan = Plan {
        as_of,
        horizon_days: 90,
        every_days: 28,
        folds: 4,
    };
    println!("| measurement ({accounts} accounts, {events} events) | result |\n|---|---|");
    let compare = |draft: &CardSetSpec, cache: &HistoryCache| {
        let started = Instant::now();
        let found = ingest
            .read(|usage| {
                mikawaya_app::scorecards::compare(store.as_ref(), &read, usage, draft, &plan, cache)
            })
            .map_err(|e| anyhow!("{e}"))??;
        Ok::<_, anyhow::Error>((found, started.elapsed().as_secs_f64()))
    };
    // Cold: the first backtest after the book changed (a new cache each round; the third
    // of three rounds).
    let mut cold = 0.0;
    for _ in 0..3 {
        let (found, seconds) = compare(&draft, &HistoryCache::default())?;
        cold = seconds;
        if found.current.n == 0 {
            return Err(anyhow!("no observations"));
        }
    }
    let (found, _) = compare(&draft, &HistoryCache::default())?;
    println!(
        "| draft backtest beside the cards in force, the first after the book changed ({} dates, {} observations each) | {cold:.2} s |",
        found.dates.2, found.current.n
    );
    // The editor page prepares the history in the background when it opens; the leader's
    // first draft then costs its own measures.
    let cache = HistoryCache::default();
    let started = Instant::now();
    ingest
        .read(|usage| {
            mikawaya_app::scorecards::prepare(store.as_ref(), &read, usage, &plan, &cache)
        })
        .map_err(|e| anyhow!("{e}"))??;
    let prepared = started.elapsed().as_secs_f64();
    println!(
        "| preparing when the editor opens (in the background: the history and the cards in force) | {prepared:.2} s |"
    );
    let (_, first) = compare(&draft, &cache)?;
    println!("| the first draft backtest once prepared | {first:.2} s |");
    // Warm: the editor's next drafts on the same history, one with a measure the history
    // has not computed yet, one with other weights and thresholds only.
    let mut new_measure = draft.clone();
    if let Some(card) = new_measure.default.as_mut()
        && let Some(measure) = card.measures.get_mut(1)
    {
        measure.metric.window_days = Some(14);
    }
    let (_, next) = compare(&new_measure, &cache)?;
    println!(
        "| the next draft, one measure changed (its values computed, the rest kept) | {next:.2} s |"
    );
    let mut reweighted = new_measure.clone();
    if let Some(card) = reweighted.default.as_mut() {
        for measure in &mut card.measures {
            measure.weight = 1.0;
        }
    }
    let (_, again) = compare(&reweighted, &cache)?;
    println!("| the next draft, weights changed only | {again:.2} s |");
    // A suggestion computes every candidate metric value by value (about 50 candidates ×
    // accounts × dates): minutes at 100,000 accounts, so it is timed on smaller runs.
    if accounts > 20_000 {
        ingest.shutdown();
        return Ok(());
    }
    let started = Instant::now();
    let suggested_plan = Plan {
        every_days: 14,
        ..plan
    };
    let found = ingest
        .read(|usage| mikawaya_app::scorecards::suggest(store.as_ref(), usage, &suggested_plan))
        .map_err(|e| anyhow!("{e}"))??;
    println!(
        "| `scorecard suggest` (learned on {} + {} examples, judged on {} held-out observations; AUC suggested {:.3}, forecast {:.3}) | {:.1} s |",
        found.suggestion.fit_examples,
        found.suggestion.tune_examples,
        found.held_out.forecast.n,
        found
            .held_out
            .others
            .first()
            .and_then(|b| b.auc)
            .unwrap_or_default(),
        found.held_out.forecast.auc.unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    ingest.shutdown();
    Ok(())
}
