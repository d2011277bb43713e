//! Success plans at 100,000 accounts: every account with a plan of three measured
//! objectives (activity up a tenth, active users up a fifth, days idle down to two), then
//! the daily measurement (`mikawaya_app::plans::measure`, as the daily run calls it) on the
//! first day (baselines read) and the next (baselines kept), and the reads of the leader's
//! plan list.
//! Run with `cargo run --release -p mikawaya-bench -- plans` (`MIKAWAYA_BENCH_ACCOUNTS`
//! scales it down).

use anyhow::{Result, anyhow};
use mikawaya_domain::Actor;
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{PlanBody, PlanChange, Target};
use mikawaya_domain::value::{Slug, Text};
use mikawaya_store::plans::{PlanEdit, PlanFilter};
use std::time::Instant;

pub fn run() -> Result<()> {
    let book = crate::desk::book()?;
    let store = book.store.as_ref();
    let read = Actor::system().read();
    let write = Actor::system().write()?;
    let accounts = store.all_accounts(&read)?;
    let start = book.as_of.checked_sub(jiff::Span::new().days(30))?;
    let due = book.as_of.checked_add(jiff::Span::new().days(60))?;
    let mut body = PlanBody::new(Text::parse("Adoption")?, Language::En);
    let now = jiff::Timestamp::now();
    for (metric, target, relative) in [
        ("activity", 10.0, true),
        ("active_users", 20.0, true),
        ("idle_days", 2.0, false),
    ] {
        let made = Target::new(Slug::parse(metric)?, target, start, due, start)?;
        body.apply(
            PlanChange::AddObjective {
                title: Text::parse(metric)?,
                target: Some(if relative { made.relative()? } else { made }),
                manual_status: None,
            },
            None,
            now,
        )?;
    }
    let started = Instant::now();
    for chunk in accounts.chunks(10_000) {
        let edits: Vec<_> = chunk
            .iter()
            .map(|a| {
                (
                    a.id,
                    PlanEdit {
                        body: &body,
                        events: &[],
                        author: None,
                        at: now,
                    },
                )
            })
            .collect();
        store.create_plans(&write, &edits)?;
    }
    eprintln!(
        "{} plans made in {:.1} s",
        accounts.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "| measurement ({} accounts, {} events, one plan of three measured objectives each) | result |\n|---|---|",
        accounts.len(),
        book.events
    );
    let mut day = book.as_of;
    for label in [
        "the first day (each baseline read)",
        "the next day (baselines kept)",
        "the day after",
    ] {
        let started = Instant::now();
        let changed = book
            .ingest
            .read(|usage| mikawaya_app::plans::measure(store, usage, day, now))
            .map_err(|e| anyhow!("{e}"))??;
        println!(
            "| daily measurement, {label}: {changed} statuses changed | {:.2} s |",
            started.elapsed().as_secs_f64()
        );
        day = day.tomorrow()?;
    }
    let started = Instant::now();
    let plans = store.list_plans(&read, &PlanFilter::default())?;
    let progress = store.plan_progress(&read, None)?;
    println!(
        "| the leader's plan list: every plan and its progress read ({} plans, {} objectives) | {:.2} s |",
        plans.len(),
        progress.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let flagged = store.list_plans(
        &read,
        &PlanFilter {
            objective_off_track: true,
            ..PlanFilter::default()
        },
    )?;
    println!(
        "| plans with an objective off track or missed ({}) | {:.2} s |",
        flagged.len(),
        started.elapsed().as_secs_f64()
    );
    book.ingest.shutdown();
    Ok(())
}
