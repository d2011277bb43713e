//! `/api/v1/segments` and `/api/v1/custom-fields`: saved account filters and account
//! field definitions.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::routes::accounts::{AccountListParams, AccountOut};
use crate::state::AppState;
use crate::wire::{PageOut, instant, optional, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::SegmentId;
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::segment::{NewSegment, Segment};
use mikawaya_domain::value::{Name, Slug, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of these resources.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_segments, create_segment))
        .routes(routes!(get_segment, replace_segment, delete_segment))
        .routes(routes!(segment_accounts))
        .routes(routes!(list_custom_fields))
        .routes(routes!(put_custom_field, delete_custom_field))
}

/// A segment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentOut {
    id: i64,
    name: String,
    description: Option<String>,
    /// The account filter (same keys as the account list's query parameters).
    #[schema(value_type = Object)]
    filter: AccountFilter,
    created_at: String,
    updated_at: String,
}

impl From<Segment> for SegmentOut {
    fn from(segment: Segment) -> Self {
        Self {
            id: segment.id.get(),
            name: segment.name.into(),
            description: segment.description.map(String::from),
            filter: segment.filter,
            created_at: instant(segment.created_at),
            updated_at: instant(segment.updated_at),
        }
    }
}

/// A segment definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    name: String,
    description: Option<String>,
    /// e.g. `{"tier":"high","renewal_to":"2026-12-31"}`.
    #[schema(value_type = Object)]
    #[serde(default)]
    filter: AccountFilter,
}

impl TryFrom<SegmentBody> for NewSegment {
    type Error = mikawaya_domain::Invalid;
    fn try_from(body: SegmentBody) -> Result<Self, Self::Error> {
        Ok(NewSegment {
            name: required(&body.name, "name", Name::parse)?,
            description: optional(body.description.as_deref(), "description", Text::parse)?,
            filter: body.filter,
        })
    }
}

/// All segments.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", responses((status = 200, body = Vec<SegmentOut>)))]
async fn list_segments(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<SegmentOut>>, ApiError> {
    let access = actor.read();
    let segments = state.run(move |store| store.list_segments(&access)).await?;
    Ok(Json(segments.into_iter().map(SegmentOut::from).collect()))
}

/// Creates a segment (admins and leaders).
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = SegmentBody,
    responses((status = 201, body = SegmentOut), (status = 409, body = ErrorBody)))]
async fn create_segment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<SegmentBody>,
) -> Result<(StatusCode, Json<SegmentOut>), ApiError> {
    let access = actor.manage()?;
    let segment = NewSegment::try_from(body)?;
    let segment = state
        .run(move |store| store.create_segment(&access, segment))
        .await?;
    Ok((StatusCode::CREATED, Json(segment.into())))
}

/// One segment.
#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path, description = "segment id")),
    responses((status = 200, body = SegmentOut), (status = 404, body = ErrorBody)))]
async fn get_segment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<SegmentOut>, ApiError> {
    let access = actor.read();
    let segment = state
        .run(move |store| store.get_segment(&access, SegmentId::new(id)))
        .await?;
    Ok(Json(segment.into()))
}

/// Replaces a segment's definition.
#[utoipa::path(put, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path, description = "segment id")),
    request_body = SegmentBody, responses((status = 200, body = SegmentOut), (status = 404, body = ErrorBody)))]
async fn replace_segment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SegmentBody>,
) -> Result<Json<SegmentOut>, ApiError> {
    let access = actor.manage()?;
    let segment = NewSegment::try_from(body)?;
    let segment = state
        .run(move |store| store.update_segment(&access, SegmentId::new(id), segment))
        .await?;
    Ok(Json(segment.into()))
}

/// Deletes a segment.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path, description = "segment id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_segment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.manage()?;
    state
        .run(move |store| store.delete_segment(&access, SegmentId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The accounts in a segment now (evaluated on each call; further filters narrow it).
#[utoipa::path(get, path = "/api/v1/segments/{id}/accounts", tag = "segments",
    params(("id" = i64, Path, description = "segment id"), AccountListParams),
    responses((status = 200, body = PageOut<AccountOut>), (status = 404, body = ErrorBody)))]
async fn segment_accounts(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    QueryParams(params): QueryParams<AccountListParams>,
) -> Result<Json<PageOut<AccountOut>>, ApiError> {
    let (extra, sort, page) = (params.filter()?, params.sort()?, params.page()?);
    let access = actor.read();
    let visibility = access.visibility();
    let found = state
        .run(move |store| {
            let segment = store.get_segment(&access, SegmentId::new(id))?;
            store.list_accounts(&access, &segment.filter.and(extra), sort, &page)
        })
        .await?;
    Ok(Json(PageOut::from_page(found, |account| {
        AccountOut::shown_to(account, visibility)
    })))
}

/// A custom field definition.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldBody {
    /// Shown to people.
    label: String,
    /// text, number, date, bool or enum.
    kind: String,
    /// The allowed values of an enum field.
    #[serde(default)]
    options: Vec<String>,
}

/// A custom field definition as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomFieldOut {
    key: String,
    label: String,
    kind: String,
    options: Vec<String>,
}

/// Custom account fields.
#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom-fields", responses((status = 200, body = Vec<CustomFieldOut>)))]
async fn list_custom_fields(
    State(state): State<AppState>,
    Caller(_actor): Caller,
) -> Result<Json<Vec<CustomFieldOut>>, ApiError> {
    let fields = state.run(|store| store.list_custom_fields()).await?;
    Ok(Json(
        fields
            .into_iter()
            .map(|f| CustomFieldOut {
                key: f.key().to_string(),
                label: f.label().to_string(),
                kind: f.kind().as_str().to_owned(),
                options: f.options().to_vec(),
            })
            .collect(),
    ))
}

/// Defines (or redefines) a custom account field (admins only).
#[utoipa::path(put, path = "/api/v1/custom-fields/{key}", tag = "custom-fields", params(("key" = String, Path, description = "field key")),
    request_body = CustomFieldBody, responses((status = 204), (status = 400, body = ErrorBody)))]
async fn put_custom_field(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<CustomFieldBody>,
) -> Result<StatusCode, ApiError> {
    let access = actor.admin()?;
    let definition = CustomFieldDef::new(
        required(&key, "key", Slug::parse)?,
        required(&body.label, "label", Name::parse)?,
        required(&body.kind, "kind", CustomFieldKind::parse)?,
        body.options,
    )?;
    state
        .run(move |store| store.put_custom_field(&access, definition))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a custom field definition (admins only).
#[utoipa::path(delete, path = "/api/v1/custom-fields/{key}", tag = "custom-fields", params(("key" = String, Path, description = "field key")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_custom_field(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let access = actor.admin()?;
    state
        .run(move |store| store.delete_custom_field(&access, &key))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
