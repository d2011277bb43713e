//! `/healthz`, `/readyz`, `/metrics` and `/api/v1/openapi.json`.

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
        .routes(utoipa_axum::routes!(readyz))
        .routes(utoipa_axum::routes!(metrics))
        .routes(utoipa_axum::routes!(openapi_document))
}

/// Liveness and store reachability; the one route without authentication.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, description = "the server and its store answer")))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.run(|store| store.list_custom_fields()).await?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}

/// Acknowledged events not yet in the rollups past which a node says it is not ready:
/// about a tenth of a second of applying, so reads on it are current.
const READY_BACKLOG: u64 = 100_000;

/// What `/readyz` reports.
#[derive(Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Schema migrations applied to the database (none when it did not answer).
    pub schema_applied: Option<u32>,
    /// Schema migrations this build has.
    pub schema_known: Option<u32>,
    /// Acknowledged events not yet in the rollups.
    pub rollup_backlog: u64,
    /// Whether the node is shutting down (finishing the requests in flight).
    pub stopping: bool,
    /// Why it is not ready; empty when it is.
    pub reasons: Vec<String>,
}

impl Readiness {
    /// Ready when the database answers with this build's schema, the rollups hold nearly
    /// every acknowledged event, and the node is not shutting down.
    pub fn of(
        schema: Result<mikawaya_store::SchemaVersion, String>,
        backlog: u64,
        stopping: bool,
    ) -> Self {
        let mut reasons = Vec::new();
        let (applied, known) = match &schema {
            Ok(version) => {
                if !version.is_current() {
                    reasons.push(format!(
                        "database schema has {} migrations, this build {}",
                        version.applied, version.known
                    ));
                }
                (Some(version.applied), Some(version.known))
            }
            Err(error) => {
                reasons.push(format!("database does not answer: {error}"));
                (None, None)
            }
        };
        if backlog > READY_BACKLOG {
            reasons.push(format!("{backlog} events are not yet in the rollups"));
        }
        if stopping {
            reasons.push("shutting down".to_owned());
        }
        Self {
            status: if reasons.is_empty() {
                "ready"
            } else {
                "not_ready"
            },
            schema_applied: applied,
            schema_known: known,
            rollup_backlog: backlog,
            stopping,
            reasons,
        }
    }
}

/// Readiness for a load balancer: the database answers with this build's schema, the
/// rollups have caught up with acknowledged events, and the node is not shutting down
/// (503 otherwise, saying why). Without authentication, like `/healthz`.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()), responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let schema = state
        .run(|store| store.schema_version())
        .await
        .map_err(|error| mikawaya_store::error_chain(&error));
    let readiness = Readiness::of(
        schema,
        state.ingest.backlog(),
        state.is_draining() || state.ingest.is_stopping(),
    );
    let status = if readiness.reasons.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
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
    state
        .metrics
        .rollup_backlog
        .set(i64::try_from(state.ingest.backlog()).unwrap_or(i64::MAX));
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

#[cfg(test)]
mod tests {
    use super::*;
    use mikawaya_store::SchemaVersion;

    #[test]
    fn a_node_is_ready_only_with_its_schema_its_rollups_caught_up_and_not_stopping() {
        let current = SchemaVersion {
            applied: 18,
            known: 18,
        };
        let ready = Readiness::of(Ok(current), READY_BACKLOG, false);
        assert_eq!(ready.status, "ready");
        assert!(ready.reasons.is_empty());
        assert_eq!(
            (ready.schema_applied, ready.schema_known),
            (Some(18), Some(18))
        );

        let behind = Readiness::of(Ok(current), READY_BACKLOG + 1, false);
        assert_eq!(behind.status, "not_ready");
        assert_eq!(behind.reasons, ["100001 events are not yet in the rollups"]);

        let older = SchemaVersion {
            applied: 17,
            known: 18,
        };
        let stopping = Readiness::of(Ok(older), 0, true);
        assert_eq!(
            stopping.reasons,
            [
                "database schema has 17 migrations, this build 18",
                "shutting down"
            ]
        );

        let unreachable = Readiness::of(Err("connection refused".into()), 0, false);
        assert_eq!(unreachable.schema_applied, None);
        assert_eq!(
            unreachable.reasons,
            ["database does not answer: connection refused"]
        );
    }
}
