//! An account's health in the API: score, colour, the scorecard that made it, drivers with
//! their raw values, and weekly history; the same answer as the Customer 360 page and
//! `mikawaya health` (all read `mikawaya_app::health`).

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, QueryParams};
use crate::state::AppState;
use crate::wire::{date, optional};
use axum::Json;
use axum::extract::State;
use mikawaya_analytics::scorecard::{AccountHealth, Colour};
use mikawaya_domain::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The account health routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(account_health))
}

/// The day asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HealthParams {
    /// The day, YYYY-MM-DD (default today in the data dir's business time zone).
    as_of: Option<String>,
}

/// One measure of the score.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureOut {
    /// The metric.
    metric: String,
    /// Its raw value (null: missing, left out of the score).
    value: Option<f64>,
    /// Its 0-100 score.
    score: Option<f64>,
    /// Its weight.
    weight: f64,
}

/// Health on a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// The scorecard that made it.
    card: String,
    /// 0-100, exact (null: every measure missing).
    score: Option<f64>,
    /// The score as shown on every page and by the CLI: the whole number below it, so its
    /// colour follows from it.
    shown: Option<i64>,
    /// `red` (below 40), `yellow` (below 70) or `green`.
    colour: Option<String>,
    /// The measures.
    measures: Vec<MeasureOut>,
}

/// One week of history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPoint {
    day: String,
    /// Null when there was no score.
    score: Option<f64>,
}

/// An account's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountHealthOut {
    account_id: i64,
    /// The day.
    day: String,
    /// Health on the day (null when there is none).
    now: Option<HealthOut>,
    /// Health 30 days before (for the drivers' change).
    before: Option<HealthOut>,
    /// Weekly scores over 26 weeks.
    history: Vec<HistoryPoint>,
}

fn health_out(health: AccountHealth) -> HealthOut {
    HealthOut {
        card: health.card,
        score: health.score,
        shown: health.score.map(mikawaya_app::health::shown),
        colour: health.colour.map(|c| {
            match c {
                Colour::Red => "red",
                Colour::Yellow => "yellow",
                Colour::Green => "green",
            }
            .to_owned()
        }),
        measures: health
            .measures
            .into_iter()
            .map(|m| MeasureOut {
                metric: m.metric,
                value: m.value,
                score: m.score,
                weight: m.weight,
            })
            .collect(),
    }
}

/// An account's health score, colour, scorecard, drivers and history.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/health", tag = "analytics",
    params(("id" = i64, Path, description = "account id"), HealthParams),
    responses((status = 200, body = AccountHealthOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_health(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    QueryParams(params): QueryParams<HealthParams>,
) -> Result<Json<AccountHealthOut>, ApiError> {
    let day = optional(params.as_of.as_deref(), "as_of", date("as_of"))?
        .unwrap_or_else(|| state.clock().today());
    let access = actor.read();
    let view = state
        .run_with_usage(move |store, usage| {
            Ok(mikawaya_app::health::account_health(
                store,
                &access,
                usage,
                AccountId::new(id),
                day,
            )?)
        })
        .await?;
    Ok(Json(AccountHealthOut {
        account_id: id,
        day: view.day.to_string(),
        now: view.now.map(health_out),
        before: view.before.map(health_out),
        history: view
            .history
            .into_iter()
            .map(|(day, score)| HistoryPoint {
                day: day.to_string(),
                score,
            })
            .collect(),
    }))
}
