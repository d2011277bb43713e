//! `/api/v1/partners`: partner organisations (代理店).

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody};
use crate::state::AppState;
use crate::wire::{instant, optional, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::PartnerId;
use mikawaya_domain::partner::{NewPartner, Partner};
use mikawaya_domain::value::{ExternalId, Name};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_partners, upsert_partner))
        .routes(routes!(get_partner, delete_partner))
}

/// A partner as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerOut {
    id: i64,
    external_id: Option<String>,
    name: String,
    created_at: String,
}

impl From<Partner> for PartnerOut {
    fn from(partner: Partner) -> Self {
        Self {
            id: partner.id.get(),
            external_id: partner.external_id.map(String::from),
            name: partner.name.into(),
            created_at: instant(partner.created_at),
        }
    }
}

/// A partner to create; with an external id already known, that partner is renamed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerCreate {
    external_id: Option<String>,
    name: String,
}

/// Partners the caller can see (partner users see their own).
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", responses((status = 200, body = Vec<PartnerOut>)))]
async fn list_partners(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<PartnerOut>>, ApiError> {
    let access = actor.read();
    let partners = state.run(move |store| store.list_partners(&access)).await?;
    Ok(Json(partners.into_iter().map(PartnerOut::from).collect()))
}

/// Creates (or renames, by external id) a partner.
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = PartnerCreate,
    responses((status = 201, body = PartnerOut), (status = 403, body = ErrorBody)))]
async fn upsert_partner(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<PartnerCreate>,
) -> Result<(StatusCode, Json<PartnerOut>), ApiError> {
    let access = actor.manage()?;
    let partner = NewPartner {
        external_id: optional(
            body.external_id.as_deref(),
            "external_id",
            ExternalId::parse,
        )?,
        name: required(&body.name, "name", Name::parse)?,
    };
    let partner = state
        .run(move |store| store.upsert_partner(&access, partner))
        .await?;
    Ok((StatusCode::CREATED, Json(partner.into())))
}

/// One partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners", params(("id" = i64, Path, description = "partner id")),
    responses((status = 200, body = PartnerOut), (status = 404, body = ErrorBody)))]
async fn get_partner(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<PartnerOut>, ApiError> {
    let access = actor.read();
    let partner = state
        .run(move |store| store.get_partner(&access, PartnerId::new(id)))
        .await?;
    Ok(Json(partner.into()))
}

/// Deletes a partner that owns no accounts and has no users.
#[utoipa::path(delete, path = "/api/v1/partners/{id}", tag = "partners", params(("id" = i64, Path, description = "partner id")),
    responses((status = 204), (status = 409, body = ErrorBody)))]
async fn delete_partner(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.manage()?;
    state
        .run(move |store| store.delete_partner(&access, PartnerId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
