//! `/api/v1/analytics` and `/api/v1/metrics`: churn and revenue retention, and behavioural
//! metrics, over the accounts the caller can see.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{date, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_analytics::churn::ChurnReport;
use mikawaya_analytics::metrics::{Metric, MetricSpec};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(churn_report))
        .routes(routes!(activity_churn))
        .routes(routes!(list_metrics, define_metric))
        .routes(routes!(delete_metric))
        .routes(routes!(rename_metric))
        .routes(routes!(metric_values))
        .routes(routes!(metrics_table))
        .routes(routes!(metric_series))
}

/// The period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// t0, YYYY-MM-DD (the cohort is the accounts active on this day).
    from: String,
    /// t1, YYYY-MM-DD (after t0).
    to: String,
    /// Also per cohort: start_month, plan, tier, partner, owner, or `custom.KEY` (a custom
    /// field), each as it was on t0.
    by: Option<String>,
}

/// Churn and retention of a period, as `shared/domain.md` defines them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChurnOut {
    from: String,
    to: String,
    accounts_at_start: u64,
    churned: u64,
    /// Null when no account was active at t0.
    logo_churn_rate: Option<f64>,
    mrr_at_start: f64,
    churned_mrr: f64,
    contraction: f64,
    expansion: f64,
    mrr_churn_rate: Option<f64>,
    grr: Option<f64>,
    nrr: Option<f64>,
    /// The logo churn rate as a monthly rate by survival: 1 - (1 - rate)^(1 / months).
    logo_churn_monthly: Option<f64>,
    /// The logo churn rate as an annual rate by survival: 1 - (1 - monthly)^12.
    logo_churn_annual: Option<f64>,
    /// With `by`: the same per cohort (cohorts with no account at t0 left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    cohorts: Option<Vec<CohortOut>>,
}

/// One cohort's churn.
#[derive(Debug, Serialize, ToSchema)]
pub struct CohortOut {
    cohort: String,
    #[serde(flatten)]
    report: ChurnOut,
}

impl ChurnOut {
    fn new(from: String, to: String, report: ChurnReport) -> Self {
        Self {
            from,
            to,
            accounts_at_start: report.accounts_at_start,
            churned: report.churned,
            logo_churn_rate: report.logo_churn_rate,
            mrr_at_start: report.mrr_at_start,
            churned_mrr: report.churned_mrr,
            contraction: report.contraction,
            expansion: report.expansion,
            mrr_churn_rate: report.mrr_churn_rate,
            grr: report.grr,
            nrr: report.nrr,
            logo_churn_monthly: report.logo_churn_monthly,
            logo_churn_annual: report.logo_churn_annual,
            cohorts: None,
        }
    }
}

/// Logo churn, MRR churn, GRR and NRR from `from` to `to`, from the subscription history.
#[utoipa::path(get, path = "/api/v1/analytics/churn", tag = "analytics", params(PeriodParams),
    responses((status = 200, body = ChurnOut), (status = 400, body = ErrorBody)))]
async fn churn_report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<PeriodParams>,
) -> Result<Json<ChurnOut>, ApiError> {
    let from = required(&params.from, "from", date("from"))?;
    let to = required(&params.to, "to", date("to"))?;
    let access = actor.read();
    let analysis = state
        .run(move |store| {
            Ok(mikawaya_app::churn::analyse(
                store,
                &access,
                from,
                to,
                params.by.as_deref(),
            )?)
        })
        .await?;
    let mut out = ChurnOut::new(from.to_string(), to.to_string(), analysis.overall);
    out.cohorts = analysis.cohorts.map(|cohorts| {
        cohorts
            .into_iter()
            .map(|(cohort, report)| CohortOut {
                cohort,
                report: ChurnOut::new(from.to_string(), to.to_string(), report),
            })
            .collect()
    });
    Ok(Json(out))
}

/// The period and the days without an event that make an account churned.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// t0, YYYY-MM-DD (the cohort is the accounts with an event in the N days before it).
    from: String,
    /// t1, YYYY-MM-DD (after t0).
    to: String,
    /// N: days without an event after which an account counts as churned (1 to 3650).
    activity_days: u32,
}

/// Activity churn of a period, as `shared/domain.md` defines it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityChurnOut {
    from: String,
    to: String,
    /// N.
    inactive_days: u32,
    /// Accounts with an event in the N days before t0.
    accounts_at_start: u64,
    /// Of those, accounts with none in the N days before t1.
    churned: u64,
    /// Null when no account was active at t0.
    rate: Option<f64>,
    /// The rate as a monthly rate by survival.
    monthly: Option<f64>,
    /// The rate as an annual rate by survival.
    annual: Option<f64>,
}

/// Activity churn from `from` to `to` for usage without billing data: an account is
/// churned after `activity_days` days without an event.
#[utoipa::path(get, path = "/api/v1/analytics/activity-churn", tag = "analytics", params(ActivityParams),
    responses((status = 200, body = ActivityChurnOut), (status = 400, body = ErrorBody)))]
async fn activity_churn(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<ActivityParams>,
) -> Result<Json<ActivityChurnOut>, ApiError> {
    let from = required(&params.from, "from", date("from"))?;
    let to = required(&params.to, "to", date("to"))?;
    let access = actor.read();
    let days = params.activity_days;
    let report = state
        .run_with_usage(move |store, rollups| {
            mikawaya_app::churn::activity(store, &access, rollups, from, to, days)
                .map_err(mikawaya_store::StoreError::from)
        })
        .await?;
    Ok(Json(ActivityChurnOut {
        from: from.to_string(),
        to: to.to_string(),
        inactive_days: report.inactive_days,
        accounts_at_start: report.accounts_at_start,
        churned: report.churned,
        rate: report.rate,
        monthly: report.monthly,
        annual: report.annual,
    }))
}

/// A metric definition as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricOut {
    name: String,
    /// The definition as written (kind, event, property, window_days, nested metrics).
    #[schema(value_type = Object)]
    spec: serde_json::Value,
}

/// Defined metrics.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "analytics", responses((status = 200, body = Vec<MetricOut>)))]
async fn list_metrics(
    State(state): State<AppState>,
    Caller(_actor): Caller,
) -> Result<Json<Vec<MetricOut>>, ApiError> {
    let metrics = state.run(|store| store.list_metrics()).await?;
    let out = metrics
        .into_iter()
        .map(|(name, spec)| {
            Ok(MetricOut {
                spec: crate::wire::stored_json(&spec, "metric definition")?,
                name,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(out))
}

/// Defines (or redefines) a metric (admins and leaders).
#[utoipa::path(post, path = "/api/v1/metrics", tag = "analytics", request_body(content = Object, description = "a metric spec: name, kind, event, property, where (conditions on properties), window_days, numerator, denominator, of, terms (sum_of: [{metric, weight}]), scale (ratio: 100 for a percentage), period_days (per_period), min_tenure_days (per_month, per_period), through_observation_day (days_since)"),
    responses((status = 201, body = MetricOut), (status = 400, body = ErrorBody)))]
async fn define_metric(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(spec): JsonBody<MetricSpec>,
) -> Result<(StatusCode, Json<MetricOut>), ApiError> {
    let access = actor.manage()?;
    let metric = Metric::check(&spec)?;
    let json = serde_json::to_string(&spec).map_err(ApiError::internal)?;
    let name = metric.name().to_string();
    let stored = name.clone();
    state
        .run(move |store| store.put_metric(&access, &stored, &json))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MetricOut {
            name,
            spec: serde_json::to_value(&spec).unwrap_or_default(),
        }),
    ))
}

/// Deletes a defined metric and its stored values (admins and leaders); 409 while a
/// playbook, the journey, a plan template or an active plan names it.
#[utoipa::path(delete, path = "/api/v1/metrics/{name}", tag = "analytics",
    params(("name" = String, Path, description = "metric name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_metric(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let access = actor.manage()?;
    state
        .run(move |store| {
            mikawaya_app::metrics::delete(store, &access, &name)
                .map_err(mikawaya_store::StoreError::from)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A metric's new name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameIn {
    /// The new name (a-z, 0-9, _ or -).
    to: String,
}

/// Renames a defined metric, its stored values with it (admins and leaders); 409 while
/// something in force names it or when the new name is taken.
#[utoipa::path(post, path = "/api/v1/metrics/{name}/rename", tag = "analytics",
    params(("name" = String, Path, description = "metric name")), request_body = RenameIn,
    responses((status = 200, body = MetricOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn rename_metric(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<RenameIn>,
) -> Result<Json<MetricOut>, ApiError> {
    let access = actor.manage()?;
    let to = body.to.trim().to_owned();
    let spec = state
        .run(move |store| {
            let to = mikawaya_app::metrics::rename(store, &access, &name, &to)
                .map_err(mikawaya_store::StoreError::from)?;
            store.get_metric(to.as_str())
        })
        .await?;
    let spec: serde_json::Value = serde_json::from_str(&spec).map_err(ApiError::internal)?;
    Ok(Json(MetricOut {
        name: spec["name"].as_str().unwrap_or_default().to_owned(),
        spec,
    }))
}

/// The observation date.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// The observation date d, YYYY-MM-DD (the window is the days before it).
    as_of: String,
}

/// A metric's value for one account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricValueOut {
    account_id: i64,
    /// Null for an account without an external id (it has no usage, but facts still count).
    account_external_id: Option<String>,
    /// Null when missing (e.g. a ratio whose denominator is 0).
    value: Option<f64>,
}

/// A metric's value for every account the caller can see, as of a date.
#[utoipa::path(get, path = "/api/v1/metrics/{name}/values", tag = "analytics",
    params(("name" = String, Path, description = "metric name"), AsOfParams),
    responses((status = 200, body = Vec<MetricValueOut>), (status = 404, body = ErrorBody)))]
async fn metric_values(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    QueryParams(params): QueryParams<AsOfParams>,
) -> Result<Json<Vec<MetricValueOut>>, ApiError> {
    let as_of = required(&params.as_of, "as_of", date("as_of"))?;
    let spec = state.run(move |store| store.get_metric(&name)).await?;
    let spec: MetricSpec = serde_json::from_str(&spec).map_err(ApiError::internal)?;
    let metric = Metric::check(&spec)?;
    let access = actor.read();
    let visibility = access.visibility();
    let accounts = state.run(move |store| store.all_accounts(&access)).await?;
    let ingest = state.ingest.clone();
    let store = std::sync::Arc::clone(&state.store);
    let values = tokio::task::spawn_blocking(move || {
        let facts = mikawaya_playbooks::facts::account_facts(store.as_ref(), &access)
            .map_err(ApiError::internal)?;
        ingest
            .read(|rollups| {
                let source = mikawaya_analytics::metrics::WithFacts {
                    usage: rollups,
                    facts: &facts,
                };
                accounts
                    .iter()
                    .map(|account| MetricValueOut {
                        account_id: account.id.get(),
                        account_external_id: account
                            .external_id
                            .as_ref()
                            .map(|id| id.shown_to(visibility).to_owned()),
                        value: metric.value(
                            &source,
                            &mikawaya_analytics::metrics::Subject::of(account),
                            as_of,
                        ),
                    })
                    .collect::<Vec<_>>()
            })
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(values))
}

/// What a bulk table holds.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TableParams {
    /// The metrics, comma-separated (defined ones, at most 50).
    names: String,
    /// The first observation date, YYYY-MM-DD (default 12 weeks before `to`).
    from: Option<String>,
    /// The last observation date (default today, or the day after the last usage event
    /// when the events ended in the past).
    to: Option<String>,
    /// Days between observation dates: `7d`, `2w` or `7` (default `7d`; at most 1000
    /// dates).
    every: Option<String>,
    /// `csv` (default), `jsonl` or `parquet`.
    format: Option<String>,
    /// An observation dataset: rows only for accounts active on each date, with `churned`
    /// (no active subscription this many days later, 1 to 3650).
    #[param(value_type = Option<u32>)]
    churn_horizon_days: Option<String>,
    /// The other observation scheme: each account once per renewal (a subscription's end
    /// date), this many days before it (1 to 366), labelled `churned` when it did not
    /// renew; not with `churn_horizon_days`.
    #[param(value_type = Option<u32>)]
    before_renewal_days: Option<String>,
}

/// Account × date × metric for every account the caller can see, in one pass over the
/// usage: CSV (a header, then `account_id,external_id,date,<metrics…>[,churned]`; a
/// missing value is empty), JSON lines (null) or Parquet (typed columns, null; row groups
/// as they fill, then the footer), streamed as it is computed. Everything is checked
/// before the first byte; a failure after it cuts the stream short (the transfer fails),
/// never a silent short table.
#[utoipa::path(get, path = "/api/v1/analytics/metric-table", tag = "analytics", params(TableParams),
    responses((status = 200, description = "text/csv; JSON lines with format=jsonl; Parquet with format=parquet",
                content((String = "text/csv"), (String = "application/x-ndjson"), (String = "application/vnd.apache.parquet"))),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn metrics_table(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<TableParams>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use mikawaya_app::table::{PreparedTable, TableFormat, TableRequest};
    // An empty parameter (a web form's blank field) is one not given.
    fn given(raw: &Option<String>) -> Option<&str> {
        raw.as_deref().map(str::trim).filter(|r| !r.is_empty())
    }
    let days = |field: &'static str| {
        move |raw: &str| {
            raw.parse::<u32>().map_err(|_| {
                mikawaya_domain::Invalid::new(field, format!("'{raw}' is not a number of days"))
            })
        }
    };
    let every = mikawaya_app::table::parse_every(given(&params.every).unwrap_or("7d"))?;
    let asked = given(&params.format).unwrap_or("csv");
    let parquet = mikawaya_app::table::is_parquet(asked);
    let format = match parquet {
        true => TableFormat::Csv,
        false => TableFormat::parse(asked)?,
    };
    let to = crate::wire::optional(given(&params.to), "to", date("to"))?;
    let from = crate::wire::optional(given(&params.from), "from", date("from"))?;
    let horizon = crate::wire::optional(
        given(&params.churn_horizon_days),
        "churn_horizon_days",
        days("churn_horizon_days"),
    )?;
    let before_renewal = crate::wire::optional(
        given(&params.before_renewal_days),
        "before_renewal_days",
        days("before_renewal_days"),
    )?;
    let today = state.clock().today();
    let access = actor.read();
    let visibility = access.visibility();
    let ingest = state.ingest.clone();
    let store = std::sync::Arc::clone(&state.store);
    let prepared = tokio::task::spawn_blocking(move || {
        let span = ingest
            .read(|rollups| rollups.event_span())
            .map_err(ApiError::internal)?;
        let request = TableRequest {
            names: &params.names,
            from,
            to,
            every_days: every,
            horizon_days: horizon,
            before_renewal_days: before_renewal,
            format,
        };
        Ok::<_, ApiError>(mikawaya_app::table::prepare(
            store.as_ref(),
            &access,
            span,
            today,
            &request,
        )?)
    })
    .await
    .map_err(ApiError::internal)??;
    let PreparedTable {
        plan,
        accounts,
        terms,
        facts,
    } = prepared;
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let ingest = state.ingest.clone();
    tokio::task::spawn_blocking(move || {
        // The rollups are let go between batches, so events keep landing meanwhile.
        let mut parquet_out = match parquet {
            true => match plan.parquet(Chunks::new(sender.clone())) {
                Ok(out) => Some(out),
                Err(error) => {
                    let _ = sender.blocking_send(Err(std::io::Error::other(error.to_string())));
                    return;
                }
            },
            false if sender.blocking_send(Ok(plan.header())).is_err() => return,
            false => None,
        };
        for batch in accounts.chunks(256) {
            let mut rows = Vec::new();
            let chunk = ingest
                .read(|rollups| {
                    let source = mikawaya_analytics::metrics::WithFacts {
                        usage: rollups,
                        facts: &facts,
                    };
                    match parquet_out.as_mut() {
                        Some(out) => plan
                            .parquet_rows(&source, batch, &terms, visibility, out)
                            .map_err(|error| error.to_string()),
                        None => {
                            plan.write_rows(&source, batch, &terms, visibility, &mut rows);
                            Ok(())
                        }
                    }
                })
                .map_err(|error| error.to_string())
                .and_then(|written| written.map(|()| rows))
                .map_err(|error| {
                    tracing::error!(%error, "a metrics table stopped");
                    std::io::Error::other(error)
                });
            let failed = chunk.is_err();
            // Parquet bytes go out through `Chunks` as row groups fill.
            let chunk = chunk.map(|rows| (!rows.is_empty()).then_some(rows));
            let sent = match chunk {
                Ok(None) => true,
                Ok(Some(rows)) => sender.blocking_send(Ok(rows)).is_ok(),
                Err(error) => sender.blocking_send(Err(error)).is_ok(),
            };
            if !sent || failed {
                return;
            }
        }
        if let Some(out) = parquet_out {
            let closed = out
                .close()
                .map_err(|error| std::io::Error::other(error.to_string()))
                .and_then(|mut chunks| std::io::Write::flush(&mut chunks));
            if let Err(error) = closed {
                let _ = sender.blocking_send(Err(error));
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let (content_type, name) = match (parquet, format) {
        (true, _) => (
            "application/vnd.apache.parquet",
            "attachment; filename=\"metrics.parquet\"",
        ),
        (false, TableFormat::Csv) => (
            format.content_type(),
            "attachment; filename=\"metrics.csv\"",
        ),
        (false, TableFormat::JsonLines) => (
            format.content_type(),
            "attachment; filename=\"metrics.jsonl\"",
        ),
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// Bytes written from a blocking task, handed to a streamed answer a mebibyte at a time
/// (a Parquet table's row groups as they fill, then its footer on `flush`).
struct Chunks {
    sender: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

impl Chunks {
    const SIZE: usize = 1 << 20;

    fn new(sender: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>) -> Self {
        Self {
            sender,
            buffer: Vec::with_capacity(Self::SIZE),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(Self::SIZE));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::SIZE {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A stored series' range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// First day, YYYY-MM-DD (default 180 days before `to`).
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default today).
    to: Option<String>,
}

/// One stored value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    day: String,
    /// Null when missing.
    value: Option<f64>,
}

/// An account's stored series of a metric (daily for the last 30 days, weekly before;
/// see `mikawaya metrics compute`).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/metrics/{name}", tag = "analytics",
    params(("id" = i64, Path, description = "account id"), ("name" = String, Path, description = "metric name"), SeriesParams),
    responses((status = 200, body = Vec<SeriesPoint>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn metric_series(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, name)): Path<(i64, String)>,
    QueryParams(params): QueryParams<SeriesParams>,
) -> Result<Json<Vec<SeriesPoint>>, ApiError> {
    let to = crate::wire::optional(params.to.as_deref(), "to", date("to"))?
        .unwrap_or_else(|| state.clock().today());
    let from = match crate::wire::optional(params.from.as_deref(), "from", date("from"))? {
        Some(from) => from,
        None => to
            .checked_sub(jiff::Span::new().days(180))
            .map_err(ApiError::internal)?,
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    let access = actor.read();
    let account = mikawaya_domain::AccountId::new(id);
    let series = state
        .run(move |store| {
            store.get_account(&access, account)?;
            store.get_metric(&name)?;
            store.metric_series(&access, &name, account, from, to)
        })
        .await?;
    Ok(Json(
        series
            .into_iter()
            .map(|(day, value)| SeriesPoint {
                day: day.to_string(),
                value,
            })
            .collect(),
    ))
}
