//! `mikawaya scorecard show|versions|save|rollback|suggest`: the scorecards in force and
//! their versions from the terminal, over `mikawaya_app::scorecards` (the same use cases
//! as the editor page and `/api/v1/scorecards`).

use crate::Failure;
use crate::commands::{app_input, open_ingest, open_store, store_failure};
use crate::forecast::Common;
use anyhow::{Context, anyhow};
use mikawaya_analytics::backtest::Backtest;
use mikawaya_analytics::scorecard::CardSetSpec;
use mikawaya_app::scorecards;
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum ScorecardCommand {
    /// The scorecards in force (JSON: `{"default": card, "segments": [...]}`).
    Show,
    /// Every saved version, newest first, with who saved it and when.
    Versions,
    /// Saves a file of scorecards (`{"default": card, "segments": [...]}`) as the next
    /// version.
    Save {
        /// The JSON file.
        file: PathBuf,
    },
    /// Puts an earlier version back in force (saved again as the newest).
    Rollback {
        /// The version to put back.
        version: i64,
    },
    /// Learns a card from the history (earlier dates), judges it on later dates beside the
    /// forecast and the cards in force, and prints it; `--save` makes it the default card.
    Suggest {
        /// Save the suggested card as the default card.
        #[arg(long)]
        save: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn pretty(value: &impl serde::Serialize) -> Result<String, Failure> {
    Ok(serde_json::to_string_pretty(value).context("writing JSON")?)
}

pub fn run(data_dir: &Path, command: ScorecardCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let system = Actor::system();
    let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
    match command {
        ScorecardCommand::Show => {
            let (cards, saved) =
                scorecards::in_force(store.as_ref(), &system.read()).map_err(app_input)?;
            let mut shown = cards.spec().clone();
            shown.default = Some(cards.default_card().spec().clone());
            match saved {
                Some(saved) => eprintln!("version {} saved {}", saved.version, saved.saved_at),
                None => eprintln!("no version saved: the built-in default card scores everyone"),
            }
            println!("{}", pretty(&shown)?);
        }
        ScorecardCommand::Versions => {
            let users = store.list_users(&system.read()).map_err(store_failure)?;
            for saved in scorecards::history(store.as_ref(), &system.read()).map_err(app_input)? {
                let who = saved
                    .saved_by
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map_or_else(|| "system".to_owned(), |u| u.email.to_string());
                let default = saved
                    .cards
                    .default
                    .as_ref()
                    .map_or("default (built in)", |c| c.name.as_str());
                println!(
                    "v{}\t{}\t{}\t{} + {} segment card(s)",
                    saved.version,
                    saved.saved_at,
                    who,
                    default,
                    saved.cards.segments.len()
                );
            }
        }
        ScorecardCommand::Save { file } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(Failure::input)?;
            let cards: CardSetSpec = serde_json::from_str(&body)
                .map_err(|e| Failure::input(anyhow!("{}:{}: {e}", file.display(), e.line())))?;
            let saved = scorecards::save(store.as_ref(), &manage, &cards)
                .map_err(|e| Failure::input(anyhow!("{}: {}", file.display(), app_message(e))))?;
            println!("saved scorecards v{}", saved.version);
        }
        ScorecardCommand::Rollback { version } => {
            let saved =
                scorecards::rollback(store.as_ref(), &manage, version).map_err(app_input)?;
            println!(
                "version {version} is in force again, saved as v{}",
                saved.version
            );
        }
        ScorecardCommand::Suggest { save, common } => {
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let plan = common.plan(store.as_ref(), &service)?;
            let found = service.read(|usage| scorecards::suggest(store.as_ref(), usage, &plan));
            service.shutdown();
            let found = found.map_err(Failure::from)?.map_err(app_input)?;
            let held_out = &found.held_out;
            let suggested = held_out.others.first();
            if common.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "card": found.suggestion.card,
                        "chosen": found.suggestion.chosen,
                        "tuning_auc": found.suggestion.tuning_auc,
                        "held_out": {
                            "dates": {"from": held_out.test_dates.0, "to": held_out.test_dates.1, "n": held_out.test_dates.2},
                            "suggested": suggested,
                            "in_force": held_out.scorecard,
                            "forecast": held_out.forecast,
                        },
                    })
                );
            } else {
                println!("suggested card (learned on the earlier dates):");
                for c in &found.suggestion.chosen {
                    println!(
                        "  {:<24} weight {}  red {} → green {}  (alone: AUC {:.3})",
                        c.metric, c.weight, c.red, c.green, c.auc_alone
                    );
                }
                let line = |name: &str, b: Option<&Backtest>| {
                    let show =
                        |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
                    println!(
                        "  {name:<22} AUC {}  top-decile lift {}",
                        show(b.and_then(|b| b.auc)),
                        show(b.and_then(|b| b.top_decile_lift))
                    );
                };
                println!(
                    "held out ({} dates, {} observations):",
                    held_out.test_dates.2, held_out.forecast.n
                );
                line("suggested card", suggested);
                line("scorecards in force", Some(&held_out.scorecard));
                line("forecast", Some(&held_out.forecast));
                println!("{}", pretty(&found.suggestion.card)?);
            }
            if save {
                let saved =
                    scorecards::save(store.as_ref(), &manage, &found.cards).map_err(app_input)?;
                eprintln!("saved as the default card: scorecards v{}", saved.version);
            }
        }
    }
    Ok(())
}

fn app_message(error: mikawaya_app::AppError) -> String {
    match error {
        mikawaya_app::AppError::Invalid(invalid) => {
            format!("{}: {}", invalid.field, invalid.reason)
        }
        other => other.to_string(),
    }
}
