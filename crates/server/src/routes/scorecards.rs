//! `/api/v1/scorecards`: the scorecards in force (the default card and the segment cards),
//! their versions, rollback, a draft's backtest beside the cards in force, and a card
//! suggested from the history. Handlers call `mikawaya_app::scorecards`.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody};
use crate::state::AppState;
use crate::wire::{date, instant, optional};
use axum::Json;
use axum::extract::State;
use mikawaya_analytics::backtest::Backtest;
use mikawaya_analytics::scorecard::{CardSetSpec, SegmentCard};
use mikawaya_app::forecast::Plan;
use mikawaya_app::scorecards::{self, Saved};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cards, put_cards))
        .routes(routes!(versions))
        .routes(routes!(rollback))
        .routes(routes!(backtest_draft))
        .routes(routes!(suggest))
        .routes(routes!(get_segment_cards, put_segment_cards))
}

/// A saved version of the scorecards.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardsOut {
    /// The card for every account no segment card takes (the built-in `default` when none
    /// was saved).
    #[schema(value_type = Object)]
    default: serde_json::Value,
    /// Segment cards, first match wins.
    #[schema(value_type = Vec<Object>)]
    segments: Vec<SegmentCard>,
    /// The version (none: nothing saved yet).
    version: Option<i64>,
    saved_at: Option<String>,
    saved_by: Option<i64>,
}

fn cards_out(
    default: serde_json::Value,
    saved: Option<&Saved>,
    segments: Vec<SegmentCard>,
) -> CardsOut {
    CardsOut {
        default,
        segments,
        version: saved.map(|s| s.version),
        saved_at: saved.map(|s| instant(s.saved_at)),
        saved_by: saved.and_then(|s| s.saved_by).map(|u| u.get()),
    }
}

fn saved_out(saved: &Saved) -> Result<CardsOut, ApiError> {
    let cards = mikawaya_analytics::scorecard::CardSet::from_spec(&saved.cards)?;
    let default = serde_json::to_value(cards.default_card().spec()).map_err(ApiError::internal)?;
    Ok(cards_out(
        default,
        Some(saved),
        saved.cards.segments.clone(),
    ))
}

/// The scorecards in force.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "analytics",
    responses((status = 200, body = CardsOut)))]
async fn get_cards(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<CardsOut>, ApiError> {
    let access = actor.read();
    let (cards, saved) = state
        .run(move |store| Ok(scorecards::in_force(store, &access)?))
        .await?;
    let default = serde_json::to_value(cards.default_card().spec()).map_err(ApiError::internal)?;
    Ok(Json(cards_out(
        default,
        saved.as_ref(),
        cards.spec().segments.clone(),
    )))
}

/// Saves the scorecards as the next version (admins and leaders): `{"default": {"name",
/// "measures"}, "segments": [{"segment": {"field", "value"}, "scorecard": {...}}]}`
/// (`default` left out: the built-in card). The next health snapshot uses them.
#[utoipa::path(put, path = "/api/v1/scorecards", tag = "analytics",
    request_body(content = Object, description = "the default card and the segment cards"),
    responses((status = 200, body = CardsOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_cards(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(cards): JsonBody<CardSetSpec>,
) -> Result<Json<CardsOut>, ApiError> {
    let access = actor.manage()?;
    let saved = state
        .run(move |store| Ok(scorecards::save(store, &access, &cards)?))
        .await?;
    state.refresh_health_snapshot();
    Ok(Json(saved_out(&saved)?))
}

/// Every saved version, newest first.
#[utoipa::path(get, path = "/api/v1/scorecards/versions", tag = "analytics",
    responses((status = 200, body = Vec<CardsOut>)))]
async fn versions(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<CardsOut>>, ApiError> {
    let access = actor.read();
    let history = state
        .run(move |store| Ok(scorecards::history(store, &access)?))
        .await?;
    Ok(Json(
        history.iter().map(saved_out).collect::<Result<_, _>>()?,
    ))
}

/// Which version to put back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackIn {
    version: i64,
}

/// Puts an earlier version back in force, saved as the newest (admins and leaders).
#[utoipa::path(post, path = "/api/v1/scorecards/rollback", tag = "analytics", request_body = RollbackIn,
    responses((status = 200, body = CardsOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn rollback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RollbackIn>,
) -> Result<Json<CardsOut>, ApiError> {
    let access = actor.manage()?;
    let saved = state
        .run(move |store| Ok(scorecards::rollback(store, &access, body.version)?))
        .await?;
    state.refresh_health_snapshot();
    Ok(Json(saved_out(&saved)?))
}

/// The history a backtest or a suggestion reads: observation dates every `every_days` over
/// the year that ends `horizon_days` before `as_of`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// YYYY-MM-DD (default today).
    as_of: Option<String>,
    /// Churn within this many days (default 90).
    horizon_days: Option<i32>,
    /// Days between observation dates (default 28 for a backtest, 14 for a suggestion).
    every_days: Option<i32>,
}

impl Window {
    /// The plan these fields describe.
    pub fn plan(&self, today: jiff::civil::Date, every_days: i32) -> Result<Plan, ApiError> {
        Ok(Plan {
            as_of: optional(self.as_of.as_deref(), "as_of", date("as_of"))?.unwrap_or(today),
            horizon_days: self.horizon_days.unwrap_or(90),
            every_days: self.every_days.unwrap_or(every_days),
            folds: 4,
        })
    }
}

/// A draft to backtest.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftIn {
    /// The draft scorecards, as `PUT /api/v1/scorecards` takes them.
    #[schema(value_type = Object)]
    cards: CardSetSpec,
    /// YYYY-MM-DD (default today).
    as_of: Option<String>,
    /// Churn within this many days (default 90).
    horizon_days: Option<i32>,
    /// Days between observation dates (default 28).
    every_days: Option<i32>,
}

/// A draft beside the cards in force, on the same observations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparisonOut {
    from: Option<String>,
    to: Option<String>,
    dates: usize,
    horizon_days: i32,
    #[schema(value_type = Object)]
    current: Backtest,
    #[schema(value_type = Object)]
    draft: Backtest,
}

/// Backtests a draft against the cards in force (AUC, top-decile lift, calibration) on the
/// same observations, without saving it.
#[utoipa::path(post, path = "/api/v1/scorecards/backtest", tag = "analytics", request_body = DraftIn,
    responses((status = 200, body = ComparisonOut), (status = 400, body = ErrorBody)))]
async fn backtest_draft(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<DraftIn>,
) -> Result<Json<ComparisonOut>, ApiError> {
    let access = actor.read();
    let window = Window {
        as_of: body.as_of,
        horizon_days: body.horizon_days,
        every_days: body.every_days,
    };
    let plan = window.plan(state.clock().today(), 28)?;
    let cards = body.cards;
    let cache = Arc::clone(&state.backtest_history);
    let found = state
        .run_with_usage(move |store, usage| {
            Ok(scorecards::compare(
                store, &access, usage, &cards, &plan, &cache,
            )?)
        })
        .await?;
    Ok(Json(ComparisonOut {
        from: found.dates.0.map(|d| d.to_string()),
        to: found.dates.1.map(|d| d.to_string()),
        dates: found.dates.2,
        horizon_days: found.horizon_days,
        current: found.current,
        draft: found.draft,
    }))
}

/// A suggested card and how it did on dates it did not learn from.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionOut {
    /// The card (save it as `default` with `PUT /api/v1/scorecards`).
    #[schema(value_type = Object)]
    card: serde_json::Value,
    /// Each measure: direction, AUC alone, thresholds, weight.
    #[schema(value_type = Vec<Object>)]
    chosen: serde_json::Value,
    /// The held-out dates.
    held_out_from: Option<String>,
    held_out_to: Option<String>,
    /// On the held-out observations: the suggested card (as default of the cards in force).
    #[schema(value_type = Object)]
    suggested: Option<Backtest>,
    /// The cards in force.
    #[schema(value_type = Object)]
    in_force: Backtest,
    /// The churn forecast.
    #[schema(value_type = Object)]
    forecast: Backtest,
}

/// Learns a card from the earlier part of the history and judges it on the later part
/// beside the forecast and the cards in force (admins and leaders; nothing is saved).
#[utoipa::path(post, path = "/api/v1/scorecards/suggest", tag = "analytics", request_body = Window,
    responses((status = 200, body = SuggestionOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn suggest(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(window): JsonBody<Window>,
) -> Result<Json<SuggestionOut>, ApiError> {
    actor.manage()?;
    let plan = window.plan(state.clock().today(), 14)?;
    let found = state
        .run_with_usage(move |store, usage| Ok(scorecards::suggest(store, usage, &plan)?))
        .await?;
    let held_out = found.held_out;
    Ok(Json(SuggestionOut {
        card: serde_json::to_value(&found.suggestion.card).map_err(ApiError::internal)?,
        chosen: serde_json::to_value(&found.suggestion.chosen).map_err(ApiError::internal)?,
        held_out_from: held_out.test_dates.0.map(|d| d.to_string()),
        held_out_to: held_out.test_dates.1.map(|d| d.to_string()),
        suggested: held_out.others.into_iter().next(),
        in_force: held_out.scorecard,
        forecast: held_out.forecast,
    }))
}

/// The segment scorecards in force, as sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentCardsIn {
    /// First match wins.
    #[schema(value_type = Vec<Object>)]
    segments: Vec<SegmentCard>,
}

/// The scorecards per segment (first match wins; other accounts use the default card).
#[utoipa::path(get, path = "/api/v1/scorecards/segments", tag = "analytics",
    responses((status = 200, body = CardsOut)))]
async fn get_segment_cards(
    state: State<AppState>,
    caller: Caller,
) -> Result<Json<CardsOut>, ApiError> {
    get_cards(state, caller).await
}

/// Replaces the scorecards per segment (admins and leaders), keeping the default card:
/// `{"segments": [{"segment": {"field": "tier"|"plan"|"stage", "value": ...}, "scorecard":
/// {"name", "measures"}}]}`. The next health snapshot uses them.
#[utoipa::path(put, path = "/api/v1/scorecards/segments", tag = "analytics",
    request_body(content = Object, description = "an array of segment scorecards"),
    responses((status = 200, body = CardsOut), (status = 400, body = ErrorBody)))]
async fn put_segment_cards(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<SegmentCardsIn>,
) -> Result<Json<CardsOut>, ApiError> {
    let access = actor.manage()?;
    let saved = state
        .run(move |store| {
            let (cards, _) = scorecards::in_force(store, &access.write().read())?;
            let cards = CardSetSpec {
                default: cards.spec().default.clone(),
                segments: body.segments,
            };
            Ok(scorecards::save(store, &access, &cards)?)
        })
        .await?;
    state.refresh_health_snapshot();
    Ok(Json(saved_out(&saved)?))
}
