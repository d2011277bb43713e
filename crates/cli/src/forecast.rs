//! `mikawaya forecast train|predict|backtest`: the churn forecast (analytics::forecast)
//! trained on the data dir's history, its saved versions, per-account probabilities with
//! their top factors, and its own backtest against the default scorecard.

use crate::Failure;
use crate::commands::{IngestArgs, as_of_or_today, open_ingest, open_store, store_failure};
use anyhow::{Context, anyhow};
use jiff::civil::Date;
use mikawaya_analytics::backtest::{Observation, backtest};
use mikawaya_analytics::churn::{RevenueRow, mrr_by_account};
use mikawaya_analytics::forecast::{self, Example, Feature, Model, Subject};
use mikawaya_analytics::metrics::{Metric, MetricSpec};
use mikawaya_analytics::scorecard::{Scorecard, Scored};
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// `mikawaya forecast ...`
#[derive(Debug, clap::Subcommand)]
pub enum ForecastCommand {
    /// Trains a model on the past year and saves it as the next version.
    Train {
        #[command(flatten)]
        common: Common,
    },
    /// Churn probability of every paying account, with the factors that raise it.
    Predict {
        /// Only the riskiest N accounts.
        #[arg(long)]
        top: Option<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// Trains on the first two thirds of the past year's observation dates and scores the
    /// last third, next to the default scorecard on the same observations.
    Backtest {
        #[command(flatten)]
        common: Common,
    },
}

/// Flags every forecast command takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The day the model stands on, YYYY-MM-DD: train and backtest use the year of history
    /// before it, predict predicts from it (default today in the data dir's business time
    /// zone; give it for a history that ends in the past).
    #[arg(long)]
    as_of: Option<String>,
    /// Churn within this many days.
    #[arg(long, default_value_t = 90)]
    horizon_days: i32,
    /// Days between observation dates.
    #[arg(long, default_value_t = 14)]
    every_days: i64,
    /// Time-ordered cross-validation folds.
    #[arg(long, default_value_t = 4)]
    folds: usize,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ingest: IngestArgs,
}

struct History {
    rows: Vec<RevenueRow>,
    subjects: Vec<Subject>,
    scored: Vec<Scored>,
    features: Vec<Feature>,
    facts: mikawaya_analytics::metrics::AccountFacts,
}

fn history(store: &dyn Store) -> Result<History, Failure> {
    let read = Actor::system().read();
    let accounts = store.all_accounts(&read).map_err(store_failure)?;
    let rows = store
        .all_subscriptions(&read)
        .map_err(store_failure)?
        .iter()
        .map(RevenueRow::from)
        .collect();
    let mut metrics: Vec<Metric> = Scorecard::default_card()
        .measures()
        .iter()
        .map(|m| m.metric().clone())
        .collect();
    for (name, spec) in store.list_metrics().map_err(store_failure)? {
        let spec: MetricSpec =
            serde_json::from_str(&spec).with_context(|| format!("reading metric {name}"))?;
        metrics.push(Metric::check(&spec).map_err(Failure::input)?);
    }
    Ok(History {
        rows,
        subjects: accounts.iter().map(Subject::of).collect(),
        scored: Scored::from_accounts(&accounts),
        features: forecast::features(&metrics),
        facts: crate::commands::account_facts(store)?,
    })
}

fn observation_dates(common: &Common, store: &dyn Store) -> Result<Vec<Date>, Failure> {
    if common.horizon_days < 1 || common.every_days < 1 {
        return Err(Failure::input(anyhow!(
            "--horizon-days and --every-days must be at least 1"
        )));
    }
    let today = as_of_or_today(common.as_of.as_deref(), "--as-of", store, &common.ingest)?;
    let to = today
        .checked_sub(jiff::Span::new().days(i64::from(common.horizon_days)))
        .map_err(|e| anyhow!("{e}"))?;
    let from = to
        .checked_sub(jiff::Span::new().days(365))
        .map_err(|e| anyhow!("{e}"))?;
    let mut dates = Vec::new();
    let mut day = from;
    while day <= to {
        dates.push(day);
        day = day
            .checked_add(jiff::Span::new().days(common.every_days))
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(dates)
}

fn forecast_failure(error: forecast::ForecastError) -> Failure {
    match error {
        forecast::ForecastError::NotEnoughData(_) => Failure::input(error),
        other => Failure::from(other),
    }
}

pub fn run(data_dir: &Path, command: ForecastCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = Arc::new(open_store(data_dir)?);
    let history = history(store.as_ref())?;
    match command {
        ForecastCommand::Train { common } => {
            let dates = observation_dates(&common, store.as_ref())?;
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let trained = service.read(|usage| {
                let usage = &mikawaya_analytics::metrics::WithFacts {
                    usage,
                    facts: &history.facts,
                };
                let examples = forecast::examples(
                    &history.features,
                    usage,
                    &history.rows,
                    &history.subjects,
                    &dates,
                    common.horizon_days,
                );
                forecast::train(
                    &history.features,
                    &examples,
                    common.horizon_days,
                    common.folds,
                )
            });
            service.shutdown();
            let model = trained.map_err(Failure::from)?.map_err(forecast_failure)?;
            let json = serde_json::to_string(&model).context("writing the model")?;
            let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
            let version = store
                .put_config(&manage, ConfigKind::ForecastModel, &json)
                .map_err(store_failure)?
                .version;
            if common.json {
                println!(
                    "{}",
                    serde_json::json!({"version": version, "model": model})
                );
            } else {
                println!(
                    "saved forecast model v{version}: {} examples ({} churned), {} features, alpha {} chosen by {}-fold time-ordered cross-validation",
                    model.n,
                    model.n_churned,
                    model.features.len(),
                    model.alpha,
                    common.folds
                );
                for candidate in &model.candidates {
                    println!(
                        "  alpha {:>7}: mean validation AUC {}",
                        candidate.alpha,
                        candidate
                            .mean_auc
                            .map_or_else(|| "n/a".to_owned(), |a| format!("{a:.3}"))
                    );
                }
            }
            Ok(())
        }
        ForecastCommand::Predict { top, common } => {
            let saved = store
                .config(&Actor::system().read(), ConfigKind::ForecastModel, None)
                .map_err(store_failure)?
                .ok_or_else(|| {
                    Failure::input(anyhow!(
                        "no forecast model yet: run `mikawaya forecast train`"
                    ))
                })?;
            let version = saved.version;
            let model: Model = serde_json::from_str(&saved.body)
                .with_context(|| format!("reading the saved model v{version}"))?;
            let names: Vec<&str> = history.features.iter().map(|f| f.name.as_str()).collect();
            if names
                != model
                    .features
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            {
                return Err(Failure::input(anyhow!(
                    "the metrics changed since model v{version} was trained: run `mikawaya forecast train`"
                )));
            }
            let day = as_of_or_today(
                common.as_of.as_deref(),
                "--as-of",
                store.as_ref(),
                &common.ingest,
            )?;
            let paying = mrr_by_account(&history.rows, day);
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let predictions = service.read(|usage| {
                let usage = &mikawaya_analytics::metrics::WithFacts { usage, facts: &history.facts };
                let mut out: Vec<serde_json::Value> = history
                    .subjects
                    .iter()
                    .filter_map(|s| {
                        let mrr = paying.get(&s.id).copied().filter(|m| *m > 0.0)?;
                        let values = forecast::raw_values(&history.features, usage, s, day, mrr);
                        let factors: Vec<_> = model.factors(&values).into_iter().filter(|f| f.contribution > 0.0).take(3).collect();
                        Some(serde_json::json!({"account_id": s.id.get(), "account_external_id": s.usage_key, "probability": model.probability(&values), "top_factors": factors}))
                    })
                    .collect();
                out.sort_by(|a, b| b["probability"].as_f64().unwrap_or(0.0).total_cmp(&a["probability"].as_f64().unwrap_or(0.0)));
                out
            });
            service.shutdown();
            let mut predictions = predictions.map_err(Failure::from)?;
            if let Some(top) = top {
                predictions.truncate(top);
            }
            if common.json {
                println!(
                    "{}",
                    serde_json::to_string(&predictions).context("writing JSON")?
                );
            } else {
                println!(
                    "model v{version}, churn within {} days of {day}",
                    model.horizon_days
                );
                for p in &predictions {
                    let factors: Vec<String> = p["top_factors"]
                        .as_array()
                        .map(|f| {
                            f.iter()
                                .filter_map(|f| f["feature"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    println!(
                        "{}\t{:.1}%\t{}",
                        p["account_external_id"].as_str().unwrap_or(""),
                        100.0 * p["probability"].as_f64().unwrap_or(0.0),
                        factors.join(", ")
                    );
                }
            }
            Ok(())
        }
        ForecastCommand::Backtest { common } => {
            let dates = observation_dates(&common, store.as_ref())?;
            let cut = dates.len() * 2 / 3;
            let (before, test_dates) = dates.split_at(cut);
            // Purge: train only on dates whose outcome is known before the first test date.
            let first_test = test_dates
                .first()
                .copied()
                .ok_or_else(|| Failure::input(anyhow!("not enough observation dates")))?;
            let train_dates: Vec<Date> = before
                .iter()
                .copied()
                .filter(|d| {
                    d.checked_add(jiff::Span::new().days(i64::from(common.horizon_days)))
                        .is_ok_and(|end| end <= first_test)
                })
                .collect();
            let train_dates = train_dates.as_slice();
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let result = service.read(|usage| -> Result<serde_json::Value, forecast::ForecastError> {
                let usage = &mikawaya_analytics::metrics::WithFacts { usage, facts: &history.facts };
                let train = forecast::examples(&history.features, usage, &history.rows, &history.subjects, train_dates, common.horizon_days);
                let model = forecast::train(&history.features, &train, common.horizon_days, common.folds)?;
                let test: Vec<Example> = forecast::examples(&history.features, usage, &history.rows, &history.subjects, test_dates, common.horizon_days);
                let card = Scorecard::default_card();
                let mut card_scores: HashMap<(Date, AccountId), Option<f64>> = HashMap::new();
                for day in test_dates {
                    for (account, health) in card.score(usage, &history.scored, *day) {
                        card_scores.insert((*day, account), health.score);
                    }
                }
                let mut forecast_obs = Vec::new();
                let mut card_obs = Vec::new();
                for example in &test {
                    let Some(score) = card_scores.get(&(example.date, example.account)).copied().flatten() else { continue };
                    forecast_obs.push(Observation { risk: model.probability(&example.values), churned: example.churned });
                    card_obs.push(Observation { risk: 100.0 - score, churned: example.churned });
                }
                Ok(serde_json::json!({
                    "horizon_days": common.horizon_days,
                    "train_dates": {"from": train_dates.first(), "to": train_dates.last(), "n": train_dates.len()},
                    "test_dates": {"from": test_dates.first(), "to": test_dates.last(), "n": test_dates.len()},
                    "alpha": model.alpha,
                    "forecast": backtest(&forecast_obs),
                    "default_scorecard": backtest(&card_obs),
                }))
            });
            service.shutdown();
            let report = result.map_err(Failure::from)?.map_err(forecast_failure)?;
            if common.json {
                println!("{report}");
            } else {
                let show = |v: &serde_json::Value| {
                    v.as_f64()
                        .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
                };
                println!(
                    "held-out dates {} to {} ({} observations): forecast AUC {} lift {}; default scorecard AUC {} lift {}",
                    report["test_dates"]["from"],
                    report["test_dates"]["to"],
                    report["forecast"]["n"],
                    show(&report["forecast"]["auc"]),
                    show(&report["forecast"]["top_decile_lift"]),
                    show(&report["default_scorecard"]["auc"]),
                    show(&report["default_scorecard"]["top_decile_lift"])
                );
            }
            Ok(())
        }
    }
}
