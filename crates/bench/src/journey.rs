//! The customer journey at 100,000 accounts: the standard journey saved and its rules
//! replayed weekly over the last 26 weeks (the history the page reads), the daily move,
//! the journey page's numbers (`mikawaya_app::journey::report`, as `/journey` and
//! `/api/v1/journey/report` call it) and the portfolio's stuck filter.
//! Run with `cargo run --release -p mikawaya-bench -- journey` (`MIKAWAYA_BENCH_ACCOUNTS`
//! scales it down).

use anyhow::{Result, anyhow};
use mikawaya_domain::Actor;
use mikawaya_domain::account::{AccountFilter, AccountSort};
use mikawaya_playbooks::journey::Journey;
use mikawaya_store::PageRequest;
use std::time::Instant;

pub fn run() -> Result<()> {
    let book = crate::desk::book()?;
    let store = book.store.as_ref();
    let read = Actor::system().read();
    let manage = Actor::system().manage()?;
    mikawaya_app::journey::save(store, &manage, &Journey::standard(), book.as_of)
        .map_err(|e| anyhow!("{e}"))?;
    let from = book.as_of.checked_sub(jiff::Span::new().days(7 * 26))?;
    let accounts = store.count_accounts(&read, &AccountFilter::default())?;
    println!(
        "| the customer journey ({accounts} accounts, {} events) | result |\n|---|---|",
        book.events
    );
    let started = Instant::now();
    let entries = book
        .ingest
        .read(|usage| mikawaya_app::journey::replay(store, usage, from, book.as_of, 7))
        .map_err(|e| anyhow!("{e}"))??;
    println!(
        "| the rules replayed weekly over 26 weeks: {entries} stage entries | {:.2} s |",
        started.elapsed().as_secs_f64()
    );
    let next_day = book.as_of.tomorrow()?;
    let started = Instant::now();
    let moved = book
        .ingest
        .read(|usage| mikawaya_app::journey::advance(store, usage, next_day))
        .map_err(|e| anyhow!("{e}"))??;
    println!(
        "| the daily move: {} accounts moved, {} stuck | {:.2} s |",
        moved.moved,
        moved.stuck,
        started.elapsed().as_secs_f64()
    );
    for label in ["the journey page's numbers (365 days)", "again"] {
        let started = Instant::now();
        let report = mikawaya_app::journey::report(store, &read, book.as_of, 365)?;
        let counted: usize = report.stages.iter().map(|s| s.accounts).sum();
        println!(
            "| {label}: {} stages, {counted} accounts in them, {} stuck | {:.2} s |",
            report.stages.len(),
            report.stuck.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let filter = AccountFilter {
        stage_stuck: Some(true),
        ..AccountFilter::default()
    };
    let page = store.list_accounts(
        &read,
        &filter,
        AccountSort::default(),
        &PageRequest::first(50),
    )?;
    let total = store.count_accounts(&read, &filter)?;
    println!(
        "| the portfolio filtered to stuck accounts: first page of {} of {total} | {:.3} s |",
        page.data.len(),
        started.elapsed().as_secs_f64()
    );
    book.ingest.shutdown();
    Ok(())
}
