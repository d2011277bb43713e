//! `/api/v1/import/{kind}`: CSV files of accounts, contacts, subscriptions or touchpoints,
//! loaded all-or-nothing.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, read_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Request, State};
use mikawaya_import::{ImportKind, SourceEncoding, parse_mappings};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource (with a larger body limit, set by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_file))
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// accounts, contacts, subscriptions or touchpoints.
    kind: &'static str,
    /// Data rows read.
    rows: u64,
    /// Rows that created something.
    created: u64,
    /// Rows that updated (or matched) something already there.
    updated: u64,
    /// utf8, utf8_bom or shift_jis.
    #[schema(value_type = String)]
    encoding: SourceEncoding,
    /// Columns that map to nothing and were left out.
    ignored_columns: Vec<String>,
}

/// Imports a CSV file (request body) in one transaction. Any bad row rejects the whole
/// file with a 422 listing every bad row by line and column. Header mappings are given as
/// repeated `map=SOURCE=TARGET` query parameters.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "import",
    params(("kind" = String, Path, description = "accounts, contacts, subscriptions or touchpoints"),
           ("map" = Option<Vec<String>>, Query, description = "SOURCE=TARGET header mappings")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn import_file(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
    request: Request,
) -> Result<Json<ImportReport>, ApiError> {
    let access = actor.write()?;
    let kind = ImportKind::parse(&kind)?;
    let mut raw_mappings = Vec::new();
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "map" => raw_mappings.push(value.into_owned()),
            other => {
                return Err(ApiError::field(
                    other,
                    "unknown parameter (only map=SOURCE=TARGET is accepted)",
                ));
            }
        }
    }
    let mappings = parse_mappings(&raw_mappings)?;
    let bytes = read_body(request, &state)
        .await
        .map_err(|error| match error {
            ApiError::PayloadTooLarge(_) => ApiError::PayloadTooLarge(state.config.import_limit),
            other => other,
        })?;
    let store = std::sync::Arc::clone(&state.store);
    let imported = tokio::task::spawn_blocking(move || {
        mikawaya_app::import::import_file(
            store.as_ref(),
            &access,
            kind,
            &bytes,
            &mappings,
            &mut |_| {},
        )
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(ImportReport {
        kind: kind.as_str(),
        rows: imported.summary.rows,
        created: imported.summary.created,
        updated: imported.summary.updated,
        encoding: imported.encoding,
        ignored_columns: imported.ignored_columns,
    }))
}
