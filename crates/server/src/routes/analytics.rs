//! `/api/v1/analytics`: churn and revenue retention over the accounts the caller can see.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, QueryParams};
use crate::state::AppState;
use crate::wire::{date, required};
use axum::Json;
use axum::extract::State;
use mikawaya_analytics::churn::{ChurnReport, RevenueRow, churn};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(churn_report))
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
    if to <= from {
        return Err(ApiError::field("to", "must be after from"));
    }
    let access = actor.read();
    let subscriptions = state
        .run(move |store| store.all_subscriptions(&access))
        .await?;
    let rows: Vec<RevenueRow> = subscriptions
        .iter()
        .map(|s| RevenueRow {
            account: s.account_id,
            mrr: s.mrr.amount(),
            term: s.term,
        })
        .collect();
    Ok(Json(ChurnOut::new(
        from.to_string(),
        to.to_string(),
        churn(&rows, from, to),
    )))
}
