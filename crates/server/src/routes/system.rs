//! `/healthz`, `/metrics` and `/api/v1/openapi.json`.

use crate::error::ApiError;
use crate::extract::Caller;
use crate::metrics::EntityLabels;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// The routes of this module.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(metrics))
        .routes(utoipa_axum::routes!(openapi_document))
}

/// Liveness and store reachability; the one route without authentication.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, description = "the server and its store answer")))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.run(|store| store.list_custom_fields()).await?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}

/// Prometheus text exposition, for admins (a scraper's token is an admin's): the store's
/// row counts say how large the whole book is, which no partner or CSM should learn here.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "application/openmetrics-text", body = String), (status = 403, body = crate::error::ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<impl IntoResponse, ApiError> {
    actor.admin()?;
    let stats = state.run(|store| store.stats()).await?;
    for (entity, count) in [
        ("accounts", stats.accounts),
        ("contacts", stats.contacts),
        ("subscriptions", stats.subscriptions),
        ("touchpoints", stats.touchpoints),
        ("users", stats.users),
    ] {
        state
            .metrics
            .rows
            .get_or_create(&EntityLabels {
                entity: entity.to_owned(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    ))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, description = "the OpenAPI 3.1 document")))]
pub async fn openapi_document(
    State(state): State<AppState>,
    Caller(_actor): Caller,
) -> Json<serde_json::Value> {
    Json(state.openapi.get().cloned().unwrap_or_default())
}
