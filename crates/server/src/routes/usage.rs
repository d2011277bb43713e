//! Reading usage back: an account's usage per day, week or month; its raw events; the
//! event catalogue; and the write keys senders use.

use crate::auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{date, instant, optional, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::AccountId;
use mikawaya_domain::value::Name;
use mikawaya_usage::message::StoredEvent;
use mikawaya_usage::rollup::{CatalogEntry, Interval};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account_usage))
        .routes(routes!(account_events))
        .routes(routes!(catalog))
        .routes(routes!(list_write_keys, create_write_key))
        .routes(routes!(revoke_write_key))
}

/// Which usage to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// One event name (default: all events).
    event: Option<String>,
    /// First day, YYYY-MM-DD (default: 29 days before `to`).
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today in the rollup time zone).
    to: Option<String>,
    /// day, week or month (default day).
    interval: Option<String>,
}

/// One period of usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePointOut {
    /// First day of the period.
    period: String,
    /// Events.
    count: u64,
    /// Distinct active users (any event).
    active_users: u64,
    /// Sums of numeric event properties.
    #[schema(value_type = Object)]
    sums: BTreeMap<String, f64>,
}

/// An account's usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageOut {
    account_id: i64,
    event: Option<String>,
    interval: String,
    /// The time zone days are counted in.
    time_zone: String,
    data: Vec<UsagePointOut>,
}

async fn account_key(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Option<String>, ApiError> {
    let access = caller.0.read();
    let account = state
        .run(move |store| store.get_account(&access, AccountId::new(id)))
        .await?;
    Ok(account.external_id.map(String::from))
}

/// An account's usage per period, from the daily rollups.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage", tag = "usage",
    params(("id" = i64, Path, description = "account id"), UsageParams),
    responses((status = 200, body = UsageOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_usage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    QueryParams(params): QueryParams<UsageParams>,
) -> Result<Json<UsageOut>, ApiError> {
    let interval_name = params.interval.clone().unwrap_or_else(|| "day".to_owned());
    let interval = Interval::parse(&interval_name)
        .ok_or_else(|| ApiError::field("interval", "must be day, week or month"))?;
    let time_zone = state.ingest.config().time_zone.clone();
    let today = state.clock().today();
    let to = optional(params.to.as_deref(), "to", date("to"))?.unwrap_or(today);
    let from = optional(params.from.as_deref(), "from", date("from"))?
        .unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(29)));
    if from > to {
        return Err(ApiError::field("from", "must not be after to"));
    }
    if (to - from).get_days() > 3 * 366 {
        return Err(ApiError::field("from", "a range is at most three years"));
    }
    let key = account_key(&state, &caller, id).await?;
    let ingest = state.ingest.clone();
    let event = params.event.clone();
    let points = tokio::task::spawn_blocking(move || match key {
        Some(key) => {
            ingest.read(|rollups| rollups.usage(&key, event.as_deref(), from, to, interval))
        }
        None => Ok(Vec::new()),
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Json(UsageOut {
        account_id: id,
        event: params.event,
        interval: interval_name,
        time_zone: time_zone.iana_name().unwrap_or("UTC").to_owned(),
        data: points
            .into_iter()
            .map(|p| UsagePointOut {
                period: p.period.to_string(),
                count: p.count,
                active_users: p.active_users,
                sums: p.sums,
            })
            .collect(),
    }))
}

/// Page of an account's raw events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventPageParams {
    /// Rows per page, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A raw event as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    #[serde(rename = "type")]
    kind: String,
    message_id: String,
    user_id: Option<String>,
    anonymous_id: Option<String>,
    event: Option<String>,
    group_id: Option<String>,
    timestamp: String,
    received_at: String,
    #[schema(value_type = Option<Object>)]
    properties: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    traits: Option<serde_json::Value>,
}

fn millis(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl From<StoredEvent> for EventOut {
    fn from(event: StoredEvent) -> Self {
        let raw = |value: &Option<Box<serde_json::value::RawValue>>| {
            value
                .as_ref()
                .and_then(|r| serde_json::from_str(r.get()).ok())
        };
        Self {
            kind: event.kind.as_str().to_owned(),
            properties: raw(&event.properties),
            traits: raw(&event.traits),
            event: event.event,
            message_id: event.message_id,
            user_id: event.user_id,
            anonymous_id: event.anonymous_id,
            group_id: event.group_id,
            timestamp: millis(event.timestamp_ms),
            received_at: millis(event.received_ms),
        }
    }
}

/// A page of raw events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    data: Vec<EventOut>,
    next_cursor: Option<String>,
    /// Events of this account in all.
    total: u64,
}

/// An account's raw events, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/events", tag = "usage",
    params(("id" = i64, Path, description = "account id"), EventPageParams),
    responses((status = 200, body = EventPage), (status = 404, body = ErrorBody)))]
async fn account_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    QueryParams(params): QueryParams<EventPageParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let skip: usize = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => cursor
            .parse()
            .map_err(|_| ApiError::field("cursor", "is not a cursor this server made"))?,
        None => 0,
    };
    let key = account_key(&state, &caller, id).await?;
    let ingest = state.ingest.clone();
    let (events, total) = tokio::task::spawn_blocking(move || match key {
        Some(key) => ingest.account_events(&key, skip, limit as usize),
        None => Ok((Vec::new(), 0)),
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let next = skip + events.len();
    Ok(Json(EventPage {
        next_cursor: (next < total).then(|| next.to_string()),
        total: total as u64,
        data: events.into_iter().map(EventOut::from).collect(),
    }))
}

/// The event catalogue entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogOut {
    name: String,
    first_seen: String,
    last_seen: String,
    volume: u64,
}

impl From<CatalogEntry> for CatalogOut {
    fn from(entry: CatalogEntry) -> Self {
        Self {
            name: entry.name,
            first_seen: millis(entry.first_seen_ms),
            last_seen: millis(entry.last_seen_ms),
            volume: entry.volume,
        }
    }
}

/// Every event name seen, with first and last time and volume. A partner user sees the
/// events of their partner's accounts only (first and last seen to the day).
#[utoipa::path(get, path = "/api/v1/events/catalog", tag = "usage", responses((status = 200, body = Vec<CatalogOut>)))]
async fn catalog(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<CatalogOut>>, ApiError> {
    let access = actor.read();
    let scoped = access.visibility() != mikawaya_domain::Visibility::All;
    let entries = state
        .run_with_usage(move |store, rollups| {
            if !scoped {
                return Ok(rollups.catalog());
            }
            let keys: Vec<String> = store
                .all_accounts(&access)?
                .into_iter()
                .filter_map(|a| a.external_id.map(|e| e.to_string()))
                .collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            Ok(rollups.catalog_of(&keys))
        })
        .await?;
    Ok(Json(entries.into_iter().map(CatalogOut::from).collect()))
}

/// A write key as listed (never the key).
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteKeyOut {
    id: i64,
    name: String,
    created_at: String,
    revoked_at: Option<String>,
}

/// A write key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteKeyCreate {
    name: String,
}

/// A created write key: the key is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteKeyCreated {
    id: i64,
    name: String,
    /// Send as the HTTP Basic user name (empty password) or as `writeKey`.
    key: String,
}

/// Write keys (admins only).
#[utoipa::path(get, path = "/api/v1/write-keys", tag = "usage", responses((status = 200, body = Vec<WriteKeyOut>)))]
async fn list_write_keys(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<WriteKeyOut>>, ApiError> {
    let access = actor.admin()?;
    let keys = state
        .run(move |store| store.list_write_keys(&access))
        .await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| WriteKeyOut {
                id: k.id,
                name: k.name.into(),
                created_at: instant(k.created_at),
                revoked_at: k.revoked_at.map(instant),
            })
            .collect(),
    ))
}

/// Creates a write key (admins only).
#[utoipa::path(post, path = "/api/v1/write-keys", tag = "usage", request_body = WriteKeyCreate,
    responses((status = 201, body = WriteKeyCreated), (status = 400, body = ErrorBody)))]
async fn create_write_key(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<WriteKeyCreate>,
) -> Result<(StatusCode, Json<WriteKeyCreated>), ApiError> {
    let access = actor.admin()?;
    let name = required(&body.name, "name", Name::parse)?;
    let (key, hash) = auth::new_write_key();
    let created = state
        .run(move |store| store.create_write_key(&access, name, hash))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WriteKeyCreated {
            id: created.id,
            name: created.name.into(),
            key,
        }),
    ))
}

/// Revokes a write key (admins only); senders using it are refused within 30 seconds.
#[utoipa::path(delete, path = "/api/v1/write-keys/{id}", tag = "usage", params(("id" = i64, Path, description = "write key id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_write_key(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.admin()?;
    state
        .run(move |store| store.revoke_write_key(&access, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
