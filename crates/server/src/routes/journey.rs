//! The customer journey over the API: its definition (read by everyone, saved by
//! managers), the journey page's numbers, an account's stage history, and a move by hand.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{date, optional};
use axum::Json;
use axum::extract::State;
use mikawaya_analytics::journey::StageTime;
use mikawaya_app::journey::{self, JourneyReport};
use mikawaya_domain::AccountId;
use mikawaya_playbooks::journey::Journey;
use mikawaya_store::journey::StageEntry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_journey, save_journey))
        .routes(routes!(journey_report))
        .routes(routes!(stage_history, move_stage))
}

/// The journey in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct JourneyOut {
    /// The saved version (0: the standard journey, proposed; its rules move nobody until
    /// a journey is saved).
    version: i64,
    /// The journey: `stages` in order (`key`, `name` {en, ja}, `target_days`, `rule`),
    /// `segment` (tier, plan or partner) and `window_days`.
    #[schema(value_type = Object)]
    journey: Journey,
}

/// The journey in force.
#[utoipa::path(get, path = "/api/v1/journey", tag = "journey",
    responses((status = 200, body = JourneyOut), (status = 401, body = ErrorBody)))]
async fn get_journey(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<JourneyOut>, ApiError> {
    let access = actor.read();
    let (journey, version) = state
        .run(move |store| Ok(journey::definition(store, &access)?))
        .await?;
    Ok(Json(JourneyOut { version, journey }))
}

/// Saves the journey as the next version (managers); from the next daily run its rules
/// move the accounts.
#[utoipa::path(put, path = "/api/v1/journey", tag = "journey", request_body = Object,
    responses((status = 200, body = JourneyOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_journey(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(journey): JsonBody<Journey>,
) -> Result<Json<JourneyOut>, ApiError> {
    let access = actor.manage()?;
    let today = state.clock().today();
    let version = state
        .run(move |store| Ok(journey::save(store, &access, &journey, today)?))
        .await?;
    let read = actor.read();
    let (journey, _) = state
        .run(move |store| Ok(journey::definition(store, &read)?))
        .await?;
    Ok(Json(JourneyOut { version, journey }))
}

/// Which period the numbers cover.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Days before today (default 365, at most 3660): stays that ended and entries made in
    /// them count.
    days: Option<u32>,
}

/// Time in a stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOut {
    /// Completed stays that ended in the period.
    completed: usize,
    /// Their median length, days.
    median_days: Option<f64>,
    /// Their 75th percentile, days.
    p75_days: Option<f64>,
    /// Accounts in the stage now.
    current: usize,
    /// Of those, stuck (longer than the 75th percentile).
    stuck: usize,
}

impl From<&StageTime> for TimeOut {
    fn from(time: &StageTime) -> Self {
        TimeOut {
            completed: time.completed,
            median_days: time.median,
            p75_days: time.p75,
            current: time.current,
            stuck: time.stuck.len(),
        }
    }
}

/// One stage of the funnel.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    /// Its key.
    key: String,
    /// Its name in English.
    name_en: String,
    /// Its name in Japanese (English when none).
    name_ja: String,
    /// The target time in it, days.
    target_days: Option<u32>,
    /// Whether the rules move accounts into it (else: by hand).
    ruled: bool,
    /// Accounts in it now.
    accounts: usize,
    /// Their ARR.
    arr: f64,
    /// Time in it over every segment.
    time: TimeOut,
    /// Time in it per segment.
    by_segment: BTreeMap<String, TimeOut>,
    /// Accounts that entered it in the period.
    entered: Option<usize>,
    /// Of those, the ones that entered the next stage within the window.
    converted: Option<usize>,
    /// `converted / entered`.
    conversion_rate: Option<f64>,
    /// Of those that entered it in the period, the ones that churned within the window.
    churned: usize,
}

/// An account stuck in its stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckOut {
    /// The account.
    account_id: i64,
    /// Its name.
    name: String,
    /// Its stage.
    stage: String,
    /// Its segment.
    segment: String,
    /// Days in the stage.
    days: i64,
    /// The segment's 75th percentile, days.
    p75_days: f64,
    /// Its ARR.
    arr: f64,
}

/// The journey page's numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    /// The journey's version (0: the standard journey).
    version: i64,
    /// The period's first day.
    from: String,
    /// The day after its last.
    to: String,
    /// Days after entering a stage within which a move counts.
    window_days: u32,
    /// The stages in order.
    stages: Vec<StageOut>,
    /// Accounts in no stage of the journey (not churned).
    elsewhere_accounts: usize,
    /// Their ARR.
    elsewhere_arr: f64,
    /// Accounts churned.
    churned_accounts: usize,
    /// Accounts stuck, longest over their segment's percentile first.
    stuck: Vec<StuckOut>,
}

impl From<JourneyReport> for ReportOut {
    fn from(report: JourneyReport) -> Self {
        ReportOut {
            version: report.version,
            from: report.from.to_string(),
            to: report.to.to_string(),
            window_days: report.journey.window_days,
            stages: report
                .stages
                .iter()
                .map(|s| StageOut {
                    key: s.key.clone(),
                    name_en: s.name.en.clone(),
                    name_ja: s.name.pick("ja").to_owned(),
                    target_days: s.target_days,
                    ruled: s.ruled,
                    accounts: s.accounts,
                    arr: s.arr,
                    time: (&s.time).into(),
                    by_segment: s
                        .by_segment
                        .iter()
                        .map(|(k, t)| (k.clone(), t.into()))
                        .collect(),
                    entered: s.conversion.as_ref().map(|c| c.entered),
                    converted: s.conversion.as_ref().map(|c| c.converted),
                    conversion_rate: s.conversion.as_ref().and_then(|c| c.rate()),
                    churned: s.churned,
                })
                .collect(),
            elsewhere_accounts: report.elsewhere.0,
            elsewhere_arr: report.elsewhere.1,
            churned_accounts: report.churned_accounts,
            stuck: report
                .stuck
                .into_iter()
                .map(|s| StuckOut {
                    account_id: s.account_id.get(),
                    name: s.name,
                    stage: s.stage,
                    segment: s.segment,
                    days: s.days,
                    p75_days: s.p75,
                    arr: s.arr,
                })
                .collect(),
        }
    }
}

/// The journey as a funnel: accounts and ARR per stage, time in stage (median, 75th
/// percentile, per segment), conversion to the next stage, churn from each stage, and the
/// stuck accounts (visible ones only).
#[utoipa::path(get, path = "/api/v1/journey/report", tag = "journey", params(ReportQuery),
    responses((status = 200, body = ReportOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn journey_report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<ReportQuery>,
) -> Result<Json<ReportOut>, ApiError> {
    let access = actor.read();
    let today = state.clock().today();
    let report = state
        .run(move |store| {
            Ok(journey::report(
                store,
                &access,
                today,
                query.days.unwrap_or(365),
            )?)
        })
        .await?;
    Ok(Json(report.into()))
}

/// An entry into a stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryOut {
    /// The stage.
    stage: String,
    /// The day it counts from.
    entered_on: String,
    /// rule, hand or import.
    source: String,
    /// Who, when a person moved the account.
    actor_id: Option<i64>,
    /// When it was recorded.
    recorded_at: String,
}

impl From<StageEntry> for EntryOut {
    fn from(e: StageEntry) -> Self {
        EntryOut {
            stage: e.stage.to_string(),
            entered_on: e.entered_on.to_string(),
            source: e.source.as_str().to_owned(),
            actor_id: e.actor_id.map(|u| u.get()),
            recorded_at: e.recorded_at.to_string(),
        }
    }
}

/// An account's entries into stages, oldest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/stages", tag = "journey",
    params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = Vec<EntryOut>), (status = 404, body = ErrorBody)))]
async fn stage_history(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<EntryOut>>, ApiError> {
    let access = actor.read();
    let entries = state
        .run(move |store| {
            let account = AccountId::new(id);
            store.get_account(&access, account)?;
            Ok(journey::history(store, &access, account)?.1)
        })
        .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// A move by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// A stage of the journey, or `churned`.
    stage: Option<String>,
    /// YYYY-MM-DD, not in the future (default today).
    day: Option<String>,
}

/// Moves an account into a stage by hand; the entry records who and the day.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/stages", tag = "journey",
    params(("id" = i64, Path, description = "account id")), request_body = MoveIn,
    responses((status = 200, body = Vec<EntryOut>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn move_stage(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<MoveIn>,
) -> Result<Json<Vec<EntryOut>>, ApiError> {
    let access = actor.write()?;
    let today = state.clock().today();
    let stage = body
        .stage
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| mikawaya_domain::Invalid::new("stage", "is required"))?;
    let day = optional(body.day.as_deref(), "day", date("day"))?;
    let entries = state
        .run(move |store| {
            let account = AccountId::new(id);
            journey::set_stage(store, &access, account, &stage, day, today)?;
            Ok(journey::history(store, &access.read(), account)?.1)
        })
        .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}
