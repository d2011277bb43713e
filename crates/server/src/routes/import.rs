//! `/api/v1/import/{kind}`: CSV files of accounts, contacts, subscriptions or touchpoints,
//! loaded all-or-nothing.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, read_body};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Request, State};
use mikawaya_app::import::ImportRequest;
use mikawaya_import::{ImportKind, Mapping, SourceEncoding};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource (with a larger body limit, set by the caller).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_file))
        .routes(routes!(list_mappings))
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

/// A saved mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedMapping {
    /// Its name.
    name: String,
    /// `SOURCE=TARGET` header mappings.
    map: Vec<String>,
    /// `COLUMN:FROM=TO` value translations.
    values: Vec<String>,
    /// The currency of amounts that name none.
    currency: Option<String>,
}

/// The saved import mappings.
#[utoipa::path(get, path = "/api/v1/import/mappings", tag = "import",
    responses((status = 200, body = Vec<SavedMapping>), (status = 401, body = ErrorBody)))]
async fn list_mappings(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<SavedMapping>>, ApiError> {
    let access = actor.read();
    let saved = state
        .run(move |store| Ok(mikawaya_app::import::saved_mappings(store, &access)?))
        .await?;
    Ok(Json(
        saved
            .into_iter()
            .map(|(name, mapping)| SavedMapping {
                name,
                map: mapping.map,
                values: mapping.values,
                currency: mapping.currency,
            })
            .collect(),
    ))
}

/// Imports a CSV file (request body) in one transaction. Any bad row rejects the whole
/// file with a 422 listing every bad row by line and column. Header mappings are given as
/// repeated `map=SOURCE=TARGET` query parameters, value translations as
/// `map_values=COLUMN:FROM=TO`; `mapping=NAME` starts from a saved mapping and
/// `save_mapping=NAME` (leaders and admins) saves the one used once the file is in.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "import",
    params(("kind" = String, Path, description = "accounts, contacts, subscriptions or touchpoints"),
           ("map" = Option<Vec<String>>, Query, description = "SOURCE=TARGET header mappings (a source may map to several targets; SOURCE= leaves it out)"),
           ("map_values" = Option<Vec<String>>, Query, description = "COLUMN:FROM=TO value translations"),
           ("currency" = Option<String>, Query, description = "ISO 4217 code of amounts without a currency (default: the data dir's)"),
           ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the day a file of tenures and churn flags describes (default today)"),
           ("mapping" = Option<String>, Query, description = "a saved mapping to start from"),
           ("save_mapping" = Option<String>, Query, description = "save the mapping used under this name")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn import_file(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(kind): Path<String>,
    request: Request,
) -> Result<Json<ImportReport>, ApiError> {
    let access = actor.write()?;
    let kind = ImportKind::parse(&kind)?;
    let mut import = ImportRequest::default();
    let mut mapping = Mapping::default();
    let mut save_as = None;
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "map" => mapping.map.push(value),
            "map_values" => mapping.values.push(value),
            "currency" => mapping.currency = Some(value),
            "mapping" => import.saved = Some(value),
            "save_mapping" => save_as = Some(value),
            "as_of" => {
                import.as_of = Some(
                    mikawaya_domain::value::parse_date(&value, "as_of").map_err(ApiError::from)?,
                )
            }
            other => {
                return Err(ApiError::field(
                    other,
                    "unknown parameter (map, map_values, currency, as_of, mapping and save_mapping are accepted)",
                ));
            }
        }
    }
    mapping.check()?;
    import.mapping = mapping;
    let manage = match save_as {
        Some(name) => Some((actor.manage()?, name)),
        None => None,
    };
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
            &import,
            &mut |_| {},
        )
        .and_then(|imported| {
            if let Some((manage, name)) = manage {
                let used = mikawaya_app::import::resolved(store.as_ref(), &access.read(), &import)?;
                mikawaya_app::import::save_mapping(store.as_ref(), &manage, &name, &used)?;
            }
            Ok(imported)
        })
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
