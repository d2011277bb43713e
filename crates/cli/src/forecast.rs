//! `mikawaya forecast train|predict|backtest`: flags and output over the forecast's use
//! cases (`mikawaya_app::forecast`): train and save a version, per-account probabilities
//! with their top factors, and the forecast's backtest against the scorecards in force.

use crate::Failure;
use crate::commands::{IngestArgs, app_input, data_today, open_ingest, open_store};
use anyhow::{Context, anyhow};
use jiff::civil::Date;
use mikawaya_app::forecast;
use mikawaya_domain::Actor;
use mikawaya_store::Store;
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
pub(crate) struct Common {
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
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) ingest: IngestArgs,
}

impl Common {
    /// The forecast plan these flags describe (the day: `--as-of`, else today in the data
    /// dir's business time zone, or the day after the last usage event when the events
    /// ended in the past).
    pub(crate) fn plan(
        &self,
        store: &dyn Store,
        service: &mikawaya_ingest::Ingest,
    ) -> Result<forecast::Plan, Failure> {
        if self.horizon_days < 1 || self.every_days < 1 {
            return Err(Failure::input(anyhow!(
                "--horizon-days and --every-days must be at least 1"
            )));
        }
        Ok(forecast::Plan {
            as_of: match self.as_of.as_deref() {
                Some(raw) => {
                    mikawaya_domain::value::parse_date(raw, "--as-of").map_err(Failure::input)?
                }
                None => data_today(store, service, &self.ingest)?,
            },
            horizon_days: self.horizon_days,
            every_days: i32::try_from(self.every_days)
                .map_err(|_| Failure::input(anyhow!("--every-days is too large")))?,
            folds: self.folds,
        })
    }
}

pub fn run(data_dir: &Path, command: ForecastCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    match command {
        ForecastCommand::Train { common } => {
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let plan = common.plan(store.as_ref(), &service)?;
            let trained = service.read(|usage| forecast::train(store.as_ref(), usage, &plan));
            service.shutdown();
            let saved = trained.map_err(Failure::from)?.map_err(app_input)?;
            let (version, model) = (saved.version, saved.model);
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
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let day = common.plan(store.as_ref(), &service)?.as_of;
            let predicted = service.read(|usage| {
                forecast::predict(store.as_ref(), &Actor::system().read(), usage, day)
            });
            service.shutdown();
            let (saved, mut predictions) =
                predicted
                    .map_err(Failure::from)?
                    .map_err(|error| match error {
                        mikawaya_app::AppError::Invalid(invalid) => {
                            Failure::input(anyhow!(invalid.reason))
                        }
                        other => app_input(other),
                    })?;
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
                    "model v{}, churn within {} days of {day}",
                    saved.version, saved.model.horizon_days
                );
                for p in &predictions {
                    let factors: Vec<&str> =
                        p.top_factors.iter().map(|f| f.feature.as_str()).collect();
                    println!(
                        "{}\t{:.1}%\t{}",
                        p.account_external_id
                            .clone()
                            .unwrap_or_else(|| format!("#{}", p.account_id)),
                        100.0 * p.probability,
                        factors.join(", ")
                    );
                }
            }
            Ok(())
        }
        ForecastCommand::Backtest { common } => {
            let service = open_ingest(data_dir, Arc::clone(&store), &common.ingest)?;
            let plan = common.plan(store.as_ref(), &service)?;
            let result = service
                .read(|usage| forecast::backtest_forecast(store.as_ref(), usage, &plan, &[]));
            service.shutdown();
            let report = result.map_err(Failure::from)?.map_err(app_input)?;
            let dates = |(from, to, n): (Option<Date>, Option<Date>, usize)| serde_json::json!({"from": from, "to": to, "n": n});
            let json = serde_json::json!({
                "horizon_days": report.horizon_days,
                "train_dates": dates(report.train_dates),
                "test_dates": dates(report.test_dates),
                "alpha": report.alpha,
                "forecast": report.forecast,
                // The health in force (segment scorecards, then `default`).
                "default_scorecard": report.scorecard,
            });
            if common.json {
                println!("{json}");
            } else {
                let show =
                    |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
                println!(
                    "held-out dates {} to {} ({} observations): forecast AUC {} lift {}; scorecards in force AUC {} lift {}",
                    json["test_dates"]["from"],
                    json["test_dates"]["to"],
                    report.forecast.n,
                    show(report.forecast.auc),
                    show(report.forecast.top_decile_lift),
                    show(report.scorecard.auc),
                    show(report.scorecard.top_decile_lift)
                );
            }
            Ok(())
        }
    }
}
