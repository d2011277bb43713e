//! `mikawaya journey show|save|report|replay`: the customer journey from the terminal, over
//! `mikawaya_app::journey` (the same use cases as `/journey` and `/api/v1/journey`).

use crate::Failure;
use crate::commands::{IngestArgs, app_input, as_of_or_today, open_ingest, open_store};
use anyhow::{Context, anyhow};
use mikawaya_app::journey;
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum JourneyCommand {
    /// The journey in force (JSON): its stages and their rules.
    Show,
    /// Saves a journey file (JSON, as `show` prints it) as the next version; its rules move
    /// the accounts from the next daily run.
    Save {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        ingest: IngestArgs,
    },
    /// The funnel: accounts, ARR, time in stage, conversion and churn per stage, and the
    /// stuck accounts.
    Report {
        /// Days before today the numbers cover (default 365).
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// The day to report on (default today in the data dir's business time zone).
        #[arg(long)]
        as_of: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
    },
    /// Replays the journey's rules weekly from a day to today, writing the stage history
    /// they would have made (after saving a new journey).
    Replay {
        /// The first day (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Days between two evaluations.
        #[arg(long, default_value_t = 7)]
        every_days: u32,
        #[command(flatten)]
        ingest: IngestArgs,
    },
}

pub fn run(data_dir: &Path, command: JourneyCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let system = Actor::system();
    let read = system.read();
    match command {
        JourneyCommand::Show => {
            let (journey, version) =
                journey::definition(store.as_ref(), &read).map_err(app_input)?;
            eprintln!(
                "version {version}{}",
                if version == 0 {
                    " (the standard journey, proposed: its rules move nobody until a journey is saved)"
                } else {
                    ""
                }
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&journey).context("writing JSON")?
            );
        }
        JourneyCommand::Save { file, ingest } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(Failure::input)?;
            let parsed: mikawaya_playbooks::journey::Journey = serde_json::from_str(&text)
                .map_err(|e| Failure::input(anyhow!("{}:{}: {e}", file.display(), e.line())))?;
            let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
            let today = ingest.clock(store.as_ref())?.today();
            let version = journey::save(store.as_ref(), &manage, &parsed, today)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
            println!("journey saved as version {version}");
        }
        JourneyCommand::Report {
            days,
            as_of,
            json,
            ingest,
        } => {
            let day = as_of_or_today(as_of.as_deref(), "--as-of", store.as_ref(), &ingest)?;
            let report = journey::report(store.as_ref(), &read, day, days).map_err(app_input)?;
            let rows: Vec<serde_json::Value> = report
                .stages
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "stage": s.key,
                        "accounts": s.accounts,
                        "arr": s.arr,
                        "median_days": s.time.median,
                        "p75_days": s.time.p75,
                        "entered": s.conversion.as_ref().map(|c| c.entered),
                        "conversion_rate": s.conversion.as_ref().and_then(|c| c.rate()),
                        "churned": s.churned,
                        "stuck": s.time.stuck.len(),
                    })
                })
                .collect();
            if json {
                let stuck: Vec<serde_json::Value> = report
                    .stuck
                    .iter()
                    .map(|s| serde_json::json!({"account_id": s.account_id.get(), "name": s.name, "stage": s.stage, "days": s.days, "p75_days": s.p75}))
                    .collect();
                let out = serde_json::json!({"from": report.from.to_string(), "to": report.to.to_string(), "stages": rows, "stuck": stuck});
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).context("writing JSON")?
                );
            } else {
                println!(
                    "stage\taccounts\tarr\tmedian_days\tp75_days\tentered\tconversion\tchurned\tstuck"
                );
                let show = |v: &serde_json::Value| {
                    if v.is_null() {
                        "-".to_owned()
                    } else {
                        v.to_string()
                    }
                };
                for row in &rows {
                    println!(
                        "{}\t{}\t{:.0}\t{}\t{}\t{}\t{}\t{}\t{}",
                        row["stage"].as_str().unwrap_or_default(),
                        row["accounts"],
                        row["arr"].as_f64().unwrap_or_default(),
                        show(&row["median_days"]),
                        show(&row["p75_days"]),
                        show(&row["entered"]),
                        row["conversion_rate"]
                            .as_f64()
                            .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r)),
                        row["churned"],
                        row["stuck"],
                    );
                }
                eprintln!(
                    "{} to {}: {} accounts stuck, {} churned",
                    report.from,
                    report.to,
                    report.stuck.len(),
                    report.churned_accounts
                );
            }
        }
        JourneyCommand::Replay {
            from,
            every_days,
            ingest,
        } => {
            let to = as_of_or_today(None, "--as-of", store.as_ref(), &ingest)?;
            let from = mikawaya_domain::value::parse_date(&from, "--from")
                .map_err(|e| Failure::input(anyhow!("{}: {}", e.field, e.reason)))?;
            let opened = open_ingest(data_dir, Arc::clone(&store), &ingest)?;
            let entries = opened
                .read(|usage| journey::replay(store.as_ref(), usage, from, to, every_days))
                .map_err(Failure::from)?
                .map_err(app_input)?;
            opened.shutdown();
            println!("journey replayed from {from} to {to}: {entries} stage entries");
        }
    }
    Ok(())
}
