//! The Segment HTTP Tracking API: `/v1/track`, `/v1/identify`, `/v1/group`, `/v1/page`,
//! `/v1/screen`, `/v1/alias` and `/v1/batch`, authenticated by write key (HTTP Basic user
//! name with an empty password, or `writeKey` in the body), gzip bodies accepted. A reply
//! of `{"success":true}` means every message of the request is on disk.

use crate::auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::read_body;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use base64::Engine;
use mikawaya_ingest::Prepared;
use mikawaya_usage::message::{
    self, Kind, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MessageError, Received,
};
use std::io::Read;
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a checked write key is trusted before it is looked up again: a key revoked
/// on any node stops working on every node within this time (a look-up per key and node
/// every 5 seconds is nothing to the store).
const WRITE_KEY_TTL: Duration = Duration::from_secs(5);

/// The routes of this API.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(track))
        .routes(routes!(identify))
        .routes(routes!(group))
        .routes(routes!(page))
        .routes(routes!(screen))
        .routes(routes!(alias))
        .routes(routes!(batch))
}

/// The reply to an accepted request.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Success {
    /// Always true: every message not listed in `refused` is on disk.
    success: bool,
    /// Messages on disk: written now, or already there (same write key and `messageId`).
    accepted: u64,
    /// Messages of a batch refused one by one (the others are stored, as Segment does):
    /// each names its `batch[INDEX]` field and why (invalid, or older than the late-arrival
    /// window: send history with `mikawaya import events`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refused: Vec<RefusedMessage>,
}

/// A message refused within an accepted batch.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefusedMessage {
    /// The field, starting with `batch[INDEX]`.
    field: String,
    /// Why.
    reason: String,
}

/// Decompresses a gzip body, refusing to inflate past `limit`.
fn body_bytes(
    headers: &HeaderMap,
    body: Bytes,
    limit: usize,
    field: &str,
) -> Result<Bytes, ApiError> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        if body.len() > limit {
            return Err(ApiError::field(
                field,
                format!("must be at most {limit} bytes"),
            ));
        }
        return Ok(body);
    }
    let mut inflated = Vec::with_capacity(body.len() * 4);
    flate2::read::GzDecoder::new(body.as_ref())
        .take(limit as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| ApiError::MalformedJson(format!("the gzip body does not inflate: {e}")))?;
    if inflated.len() > limit {
        return Err(ApiError::field(
            field,
            format!("must be at most {limit} bytes"),
        ));
    }
    Ok(Bytes::from(inflated))
}

/// The write key of a request: HTTP Basic user name, else `writeKey` in the body.
fn write_key(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .map(|pair| {
            pair.split_once(':')
                .map_or(pair.clone(), |(user, _)| user.to_owned())
        })
        .filter(|key| !key.is_empty());
    basic.or_else(|| message::body_write_key(body))
}

/// Resolves a write key to its source id, with a short-lived cache.
async fn source(state: &AppState, key: Option<String>) -> Result<u32, ApiError> {
    let key = key.ok_or(ApiError::Unauthenticated)?;
    let hash = auth::secret_hash(&key);
    if let Ok(cache) = state.write_keys.read()
        && let Some((source, checked)) = cache.get(&hash)
        && checked.elapsed() < WRITE_KEY_TTL
    {
        return Ok(*source);
    }
    let lookup = hash.clone();
    let found = state
        .run(move |store| store.find_write_key(&lookup))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let source = u32::try_from(found.id).map_err(|_| ApiError::Unauthenticated)?;
    if let Ok(mut cache) = state.write_keys.write() {
        cache.insert(hash, (source, Instant::now()));
    }
    Ok(source)
}

fn received(state: &AppState) -> Received {
    let at_ms = jiff::Timestamp::now().as_millisecond();
    let config = state.ingest.config();
    Received {
        at_ms,
        oldest_ms: Some(at_ms - i64::from(config.late_days) * 86_400_000),
        newest_ms: Some(at_ms + i64::from(config.future_hours) * 3_600_000),
    }
}

fn refused(error: MessageError) -> ApiError {
    if error.reason.starts_with("malformed JSON") {
        ApiError::MalformedJson(error.reason)
    } else {
        ApiError::field(&error.field, error.reason)
    }
}

async fn accept(
    state: AppState,
    request: Request,
    kind: Option<Kind>,
) -> Result<Json<Success>, ApiError> {
    let headers = request.headers().clone();
    let body = read_body(request, &state).await?;
    let (limit, field) = if kind.is_some() {
        (MAX_MESSAGE_BYTES, "message")
    } else {
        (MAX_BATCH_BYTES, "batch")
    };
    let body = body_bytes(&headers, body, limit, field)?;
    let source = source(&state, write_key(&headers, &body)).await?;
    let received = received(&state);
    let (prepared, refused_messages): (Prepared, Vec<MessageError>) = match kind {
        Some(kind) => (
            std::iter::once(
                message::parse_single_ref(&body, kind, source, received).map_err(refused)?,
            )
            .collect(),
            Vec::new(),
        ),
        None => {
            let mut parts = message::parse_batch_each(&body, source, received).map_err(refused)?;
            // A batch of nothing but refused messages is refused as a whole (400).
            if parts.accepted.is_empty() && !parts.refused.is_empty() {
                return Err(refused(parts.refused.swap_remove(0)));
            }
            (parts.accepted.into_iter().collect(), parts.refused)
        }
    };
    let appended = state
        .ingest
        .append(prepared)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)?;
    state.metrics.events.inc_by(appended.accepted);
    state.metrics.refused.inc_by(refused_messages.len() as u64);
    if !refused_messages.is_empty() {
        tracing::info!(
            refused = refused_messages.len(),
            first = %refused_messages[0].field,
            reason = %refused_messages[0].reason,
            "batch messages refused one by one"
        );
    }
    Ok(Json(Success {
        success: true,
        accepted: appended.accepted + appended.duplicates,
        refused: refused_messages
            .into_iter()
            .map(|e| RefusedMessage {
                field: e.field,
                reason: e.reason,
            })
            .collect(),
    }))
}

macro_rules! single_endpoint {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "tracking", security(("write_key" = [])),
            request_body(content = Object, description = "a Segment message"),
            responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
        async fn $name(State(state): State<AppState>, request: Request) -> Result<Json<Success>, ApiError> {
            accept(state, request, Some($kind)).await
        }
    };
}

single_endpoint!(
    track,
    "/v1/track",
    Kind::Track,
    "Records what a user did (`event`, `properties`)."
);
single_endpoint!(
    identify,
    "/v1/identify",
    Kind::Identify,
    "Records who a user is (`traits`)."
);
single_endpoint!(
    group,
    "/v1/group",
    Kind::Group,
    "Puts a user in an account (`groupId` = the account's external id)."
);
single_endpoint!(page, "/v1/page", Kind::Page, "Records a page view.");
single_endpoint!(screen, "/v1/screen", Kind::Screen, "Records a screen view.");
single_endpoint!(
    alias,
    "/v1/alias",
    Kind::Alias,
    "Links a previous user id to a user."
);

/// Records a batch of messages of any type (`batch`, with shared `context` and `sentAt`).
/// As in Segment, an invalid or too old message does not refuse the others: they are
/// stored and the refused ones listed in the reply; a batch of only refused ones is a 400.
#[utoipa::path(post, path = "/v1/batch", tag = "tracking", security(("write_key" = [])),
    request_body(content = Object, description = "{\"batch\": [messages], \"context\": {...}, \"sentAt\": \"...\"}"),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn batch(State(state): State<AppState>, request: Request) -> Result<Json<Success>, ApiError> {
    accept(state, request, None).await
}
