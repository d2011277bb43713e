//! `mikawaya plans list|templates|save-templates|measure`: success plans from the
//! terminal, over `mikawaya_app::plans` (the same use cases as the plan pages and
//! `/api/v1/plans`).

use crate::Failure;
use crate::commands::{
    IngestArgs, app_input, as_of_or_today, open_ingest, open_store, store_failure,
};
use anyhow::{Context, anyhow};
use mikawaya_app::plans;
use mikawaya_domain::Actor;
use mikawaya_domain::plan::ObjectiveStatus;
use mikawaya_store::Store;
use mikawaya_store::plans::PlanFilter;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum PlansCommand {
    /// Every plan with its objectives' status and next milestone.
    List {
        /// Only plans with an objective off track or missed.
        #[arg(long)]
        off_track: bool,
        /// Only plans with a milestone open past its due date.
        #[arg(long)]
        overdue: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
    },
    /// The plan templates in force (JSON).
    Templates,
    /// Saves a file of plan templates (a JSON array) as the next version.
    SaveTemplates {
        /// The JSON file.
        file: PathBuf,
    },
    /// Measures every active plan's objectives from the data, as the daily run does.
    Measure {
        /// The day to measure on (default today in the data dir's business time zone).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        ingest: IngestArgs,
    },
}

pub fn run(data_dir: &Path, command: PlansCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let system = Actor::system();
    let read = system.read();
    match command {
        PlansCommand::List {
            off_track,
            overdue,
            json,
            ingest,
        } => {
            let today = ingest.clock(store.as_ref())?.today();
            let filter = PlanFilter {
                objective_off_track: off_track,
                milestone_overdue_on: overdue.then_some(today),
                ..PlanFilter::default()
            };
            let found = store.list_plans(&read, &filter).map_err(store_failure)?;
            let mut progress: HashMap<_, BTreeMap<u32, ObjectiveStatus>> = HashMap::new();
            for row in store.plan_progress(&read, None).map_err(store_failure)? {
                progress
                    .entry(row.plan_id)
                    .or_default()
                    .insert(row.objective, row.progress.status);
            }
            let names: HashMap<_, String> = store
                .all_accounts(&read)
                .map_err(store_failure)?
                .into_iter()
                .map(|a| (a.id, a.name.to_string()))
                .collect();
            let mut rows = Vec::new();
            for plan in &found {
                let statuses: Vec<String> = plan
                    .body
                    .objectives
                    .iter()
                    .map(|o| {
                        let measured = progress.get(&plan.id).and_then(|p| p.get(&o.id)).copied();
                        o.status(measured).map_or("-", |s| s.as_str()).to_owned()
                    })
                    .collect();
                let next = plan.body.milestones.iter().find(|m| m.closed_at.is_none());
                rows.push(serde_json::json!({
                    "id": plan.id.get(),
                    "account": names.get(&plan.account_id).cloned().unwrap_or_default(),
                    "title": plan.body.title.as_str(),
                    "status": plan.body.status.as_str(),
                    "objectives": statuses,
                    "next_milestone": next.map(|m| m.title.as_str()),
                    "next_due": next.map(|m| m.due_on.to_string()),
                    "milestones_overdue": plan.body.overdue_milestones(today),
                }));
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).context("writing JSON")?
                );
            } else {
                for row in &rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        row["id"],
                        row["account"].as_str().unwrap_or_default(),
                        row["title"].as_str().unwrap_or_default(),
                        row["status"].as_str().unwrap_or_default(),
                        row["objectives"]
                            .as_array()
                            .map(|a| a
                                .iter()
                                .filter_map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(","))
                            .unwrap_or_default(),
                        row["next_due"].as_str().unwrap_or("-"),
                    );
                }
                eprintln!("{} plans", rows.len());
            }
        }
        PlansCommand::Templates => {
            let (templates, version) =
                plans::templates(store.as_ref(), &read).map_err(app_input)?;
            eprintln!(
                "version {version}{}",
                if version == 0 { " (the starters)" } else { "" }
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&templates).context("writing JSON")?
            );
        }
        PlansCommand::SaveTemplates { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(Failure::input)?;
            let templates = mikawaya_playbooks::plan_templates::parse(&text).map_err(|e| {
                Failure::input(anyhow!("{}: {}: {}", file.display(), e.field, e.reason))
            })?;
            let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
            let version =
                plans::save_templates(store.as_ref(), &manage, &templates).map_err(app_input)?;
            println!("plan templates saved as version {version}");
        }
        PlansCommand::Measure { as_of, ingest } => {
            let day = as_of_or_today(as_of.as_deref(), "--as-of", store.as_ref(), &ingest)?;
            let now = ingest.clock(store.as_ref())?.now();
            let opened = open_ingest(data_dir, Arc::clone(&store), &ingest)?;
            let changed = opened
                .read(|usage| plans::measure(store.as_ref(), usage, day, now))
                .map_err(Failure::from)?
                .map_err(app_input)?;
            opened.shutdown();
            println!("success plans measured on {day}: {changed} objectives changed status");
        }
    }
    Ok(())
}
