//! `/api/v1/touchpoints`: meetings, calls, emails, QBRs and notes.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{PageOut, instant, optional, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::touchpoint::{NewTouchpoint, Touchpoint, TouchpointKind};
use mikawaya_domain::value::{Text, parse_timestamp};
use mikawaya_domain::{AccountId, Actor, Invalid, TouchpointId, UserId};
use mikawaya_store::TouchpointFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_touchpoints, create_touchpoint))
        .routes(routes!(get_touchpoint, delete_touchpoint))
}

/// A touchpoint as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TouchpointOut {
    id: i64,
    account_id: i64,
    /// meeting, call, email, qbr or note.
    kind: String,
    occurred_at: String,
    user_id: Option<i64>,
    summary: Option<String>,
    attendees: Vec<String>,
    notes: Option<String>,
    /// positive, neutral or negative.
    sentiment: Option<String>,
    created_at: String,
}

impl From<Touchpoint> for TouchpointOut {
    fn from(touchpoint: Touchpoint) -> Self {
        Self {
            id: touchpoint.id.get(),
            account_id: touchpoint.account_id.get(),
            kind: touchpoint.kind.as_str().to_owned(),
            occurred_at: instant(touchpoint.occurred_at),
            user_id: touchpoint.user_id.map(UserId::get),
            summary: touchpoint.summary.map(String::from),
            attendees: touchpoint.attendees,
            notes: touchpoint.notes.map(String::from),
            sentiment: touchpoint.sentiment.map(|s| s.as_str().to_owned()),
            created_at: instant(touchpoint.created_at),
        }
    }
}

/// A touchpoint to record. `user_id` defaults to the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchpointCreate {
    account_id: i64,
    kind: String,
    /// RFC 3339, or a date.
    occurred_at: String,
    user_id: Option<i64>,
    summary: Option<String>,
    #[serde(default)]
    attendees: Vec<String>,
    /// Notes (several lines).
    notes: Option<String>,
    /// positive, neutral or negative.
    sentiment: Option<String>,
}

impl TouchpointCreate {
    /// Converts to a domain value; the caller is the default author.
    pub fn into_new(self, actor: &Actor) -> Result<NewTouchpoint, Invalid> {
        Ok(NewTouchpoint {
            account_id: AccountId::new(self.account_id),
            kind: required(&self.kind, "kind", TouchpointKind::parse)?,
            occurred_at: required(&self.occurred_at, "occurred_at", |raw| {
                parse_timestamp(raw, "occurred_at")
            })?,
            user_id: self.user_id.map(UserId::new).or(actor.user_id()),
            summary: optional(self.summary.as_deref(), "summary", Text::parse)?,
            attendees: self
                .attendees
                .into_iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
            notes: optional(self.notes.as_deref(), "notes", Text::parse)?,
            sentiment: optional(
                self.sentiment.as_deref(),
                "sentiment",
                mikawaya_domain::contact::Sentiment::parse,
            )?,
        })
    }
}

/// Filters and page of a touchpoint list (newest first).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TouchpointListParams {
    /// Only this account's touchpoints.
    account_id: Option<i64>,
    /// Only this kind.
    kind: Option<String>,
    /// Only by this user.
    user_id: Option<i64>,
    /// At or after (RFC 3339 or date).
    from: Option<String>,
    /// Before (RFC 3339 or date).
    to: Option<String>,
    /// Rows per page, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists touchpoints of accounts the caller can see, newest first.
#[utoipa::path(get, path = "/api/v1/touchpoints", tag = "touchpoints", params(TouchpointListParams),
    responses((status = 200, body = PageOut<TouchpointOut>), (status = 400, body = ErrorBody)))]
async fn list_touchpoints(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<TouchpointListParams>,
) -> Result<Json<PageOut<TouchpointOut>>, ApiError> {
    let filter = TouchpointFilter {
        account_id: params.account_id.map(AccountId::new),
        kind: optional(params.kind.as_deref(), "kind", TouchpointKind::parse)?,
        user_id: params.user_id.map(UserId::new),
        from: optional(params.from.as_deref(), "from", |raw| {
            parse_timestamp(raw, "from")
        })?,
        to: optional(params.to.as_deref(), "to", |raw| parse_timestamp(raw, "to"))?,
    };
    let page = mikawaya_store::PageRequest::new(params.limit, params.cursor.as_deref())?;
    let access = actor.read();
    let found = state
        .run(move |store| store.list_touchpoints(&access, &filter, &page))
        .await?;
    Ok(Json(PageOut::from_page(found, TouchpointOut::from)))
}

/// Records a touchpoint (recording the same one twice keeps one).
#[utoipa::path(post, path = "/api/v1/touchpoints", tag = "touchpoints", request_body = TouchpointCreate,
    responses((status = 201, body = TouchpointOut), (status = 400, body = ErrorBody)))]
async fn create_touchpoint(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<TouchpointCreate>,
) -> Result<(StatusCode, Json<TouchpointOut>), ApiError> {
    let access = actor.write()?;
    let new_touchpoint = body.into_new(&actor)?;
    let base_url = state.workflow.outbox.base_url.clone();
    let touchpoint = state
        .run(move |store| {
            let author = mikawaya_app::work::Author {
                actor: &actor,
                base_url: &base_url,
            };
            Ok(mikawaya_app::work::log_touchpoint(
                store,
                &access,
                author,
                new_touchpoint,
            )?)
        })
        .await?;
    state.react(touchpoint.account_id);
    Ok((StatusCode::CREATED, Json(touchpoint.into())))
}

/// One touchpoint.
#[utoipa::path(get, path = "/api/v1/touchpoints/{id}", tag = "touchpoints", params(("id" = i64, Path, description = "touchpoint id")),
    responses((status = 200, body = TouchpointOut), (status = 404, body = ErrorBody)))]
async fn get_touchpoint(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<TouchpointOut>, ApiError> {
    let access = actor.read();
    let touchpoint = state
        .run(move |store| store.get_touchpoint(&access, TouchpointId::new(id)))
        .await?;
    Ok(Json(touchpoint.into()))
}

/// Deletes a touchpoint.
#[utoipa::path(delete, path = "/api/v1/touchpoints/{id}", tag = "touchpoints", params(("id" = i64, Path, description = "touchpoint id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_touchpoint(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    state
        .run(move |store| store.delete_touchpoint(&access, TouchpointId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
