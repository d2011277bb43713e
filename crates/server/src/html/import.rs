//! The import page: a CS-operations person uploads a CRM or spreadsheet export (UTF-8 or
//! Shift_JIS, CRLF or not) of accounts, contacts, subscriptions or touchpoints, with the
//! same mappings, value translations, currency and as-of day as `mikawaya import` and
//! `POST /api/v1/import/{kind}` (one use case: `app::import`); all or nothing, and every
//! refused row named by line and column, in the person's language.

use super::i18n::Lang;
use super::{PageUser, layout};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_app::import::ImportRequest;
use mikawaya_import::{ImportKind, Mapping};
use mikawaya_store::RowError;

const KINDS: &[&str] = &["accounts", "contacts", "subscriptions", "touchpoints"];

/// What the form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    kind: String,
    file: Vec<u8>,
    file_name: String,
    map: String,
    values: String,
    currency: String,
    as_of: String,
    mapping: String,
}

impl Upload {
    /// The request these fields describe (the field named when one is wrong).
    fn request(&self) -> Result<(ImportKind, ImportRequest), ApiError> {
        let kind = ImportKind::parse(&self.kind)?;
        let lines = super::lines;
        let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let mapping = Mapping {
            map: lines(&self.map),
            values: lines(&self.values),
            currency: given(&self.currency),
        };
        mapping.check()?;
        let as_of = given(&self.as_of)
            .map(|raw| mikawaya_domain::value::parse_date(&raw, "as_of"))
            .transpose()?;
        Ok((
            kind,
            ImportRequest {
                mapping,
                as_of,
                saved: given(&self.mapping),
            },
        ))
    }
}

fn form(lang: Lang, csrf: &str, saved: &[String], upload: &Upload) -> Markup {
    html! {
        form method="post" action="/import" enctype="multipart/form-data" data-testid="import-form" {
            input type="hidden" name="csrf_token" value=(csrf);
            p { label { (lang.t("import_kind")) " "
                select name="kind" {
                    @for kind in KINDS {
                        option value=(kind) selected[upload.kind == *kind] { (lang.value("import_kind", kind)) }
                    }
                }
            } }
            p { label { (lang.t("import_file")) " " input type="file" name="file" accept=".csv,text/csv" required; } }
            @if !saved.is_empty() {
                p { label { (lang.t("import_saved_mapping")) " "
                    select name="mapping" {
                        option value="" { "—" }
                        @for name in saved { option value=(name) selected[upload.mapping == *name] { (name) } }
                    }
                } }
            }
            details open[!upload.map.is_empty() || !upload.values.is_empty()] {
                summary { (lang.t("import_mapping")) }
                p.muted { (lang.t("import_mapping_help")) }
                p { label { (lang.t("import_map")) br; textarea name="map" rows="4" cols="40" placeholder="顧客コード=external_id\nPartner=" { (upload.map) } } }
                p { label { (lang.t("import_values")) br; textarea name="values" rows="3" cols="40" placeholder="フェーズ:導入中=onboarding" { (upload.values) } } }
                p { label { (lang.t("import_currency")) " " input type="text" name="currency" size="4" placeholder="JPY" value=(upload.currency); } }
                p { label { (lang.t("import_as_of")) " " input type="date" name="as_of" value=(upload.as_of); } }
            }
            button type="submit" { (lang.t("import_button")) }
        }
    }
}

async fn saved_mappings(state: &AppState, page_user: &PageUser) -> Result<Vec<String>, ApiError> {
    let read = page_user.actor.read();
    Ok(state
        .run(move |store| Ok(mikawaya_app::import::saved_mappings(store, &read)?))
        .await?
        .into_keys()
        .collect())
}

fn page(page_user: &PageUser, saved: &[String], upload: &Upload, outcome: Markup) -> Response {
    let lang = page_user.lang;
    layout(
        lang,
        lang.t("import_title"),
        Some((&page_user.user, &page_user.csrf_token)),
        html! {
            h1 { (lang.t("import_title")) }
            p.muted { (lang.t("import_help")) }
            (outcome)
            (form(lang, &page_user.csrf_token, saved, upload))
        },
    )
    .into_response()
}

/// The page (people who may change customer data).
pub async fn import_page(State(state): State<AppState>, page_user: PageUser) -> Response {
    let result = async {
        page_user.actor.write()?;
        let saved = saved_mappings(&state, &page_user).await?;
        Ok::<_, ApiError>(page(
            &page_user,
            &saved,
            &Upload {
                kind: "accounts".into(),
                ..Upload::default()
            },
            html! {},
        ))
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Reads the form, at most `limit` bytes of file.
async fn read_upload(mut multipart: Multipart, limit: usize) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::field("file", e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or_default().to_owned();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if upload.file.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                upload.file.extend_from_slice(&chunk);
            }
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "csrf_token" => upload.csrf = text,
            "kind" => upload.kind = text,
            "map" => upload.map = text,
            "values" => upload.values = text,
            "currency" => upload.currency = text,
            "as_of" => upload.as_of = text,
            "mapping" => upload.mapping = text,
            _ => {}
        }
    }
    Ok(upload)
}

fn refused(lang: Lang, file: &str, rows: &[RowError]) -> Markup {
    html! {
        div.card role="alert" data-testid="import-refused" {
            h2 { (lang.t("import_refused")) }
            p { (file) ": " (rows.len()) " " (lang.t("import_rows_refused")) }
            div.table-scroll { table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("import_line")) } th scope="col" { (lang.t("import_column")) } th scope="col" { (lang.t("import_reason")) } } }
                tbody { @for row in rows.iter().take(200) {
                    tr { td.num { (row.line) } td { code { (row.column) } } td { (mikawaya_domain::reasons::translate(&row.reason, lang.language())) } }
                } }
            } }
        }
    }
}

/// Imports the uploaded file and shows what happened.
pub async fn upload(
    State(state): State<AppState>,
    page_user: PageUser,
    multipart: Multipart,
) -> Response {
    let lang = page_user.lang;
    let limit = state.config.import_limit;
    let upload = match read_upload(multipart, limit).await {
        Ok(upload) => upload,
        Err(error) => return super::error_page(&page_user, error),
    };
    if let Err(error) = page_user.check_csrf(&upload.csrf) {
        return super::error_page(&page_user, error);
    }
    let saved = saved_mappings(&state, &page_user).await.unwrap_or_default();
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    let (kind, request) = match upload.request() {
        Ok(parsed) => parsed,
        Err(error) => {
            let reason = mikawaya_domain::reasons::translate(&error.to_string(), lang.language());
            let message = html! { p.error role="alert" { (reason) } };
            return (
                StatusCode::BAD_REQUEST,
                page(&page_user, &saved, &upload, message),
            )
                .into_response();
        }
    };
    let mut upload = upload;
    let bytes = std::mem::take(&mut upload.file);
    let imported = state
        .run(move |store| {
            Ok(mikawaya_app::import::import_file(
                store,
                &access,
                kind,
                &bytes,
                &request,
                &mut |_| {},
            )?)
        })
        .await;
    let file = if upload.file_name.is_empty() {
        "CSV".to_owned()
    } else {
        upload.file_name.clone()
    };
    let (status, outcome) = match imported {
        Ok(imported) => (
            StatusCode::OK,
            html! {
                div.card role="status" data-testid="import-done" {
                    h2 { (lang.t("import_done")) }
                    p { (file) " (" (imported.encoding.label()) "): "
                        (imported.summary.rows) " " (lang.t("import_rows")) ", "
                        (imported.summary.created) " " (lang.t("import_created")) ", "
                        (imported.summary.updated) " " (lang.t("import_updated")) }
                    @if !imported.ignored_columns.is_empty() {
                        p.muted { (lang.t("import_ignored")) ": " (imported.ignored_columns.join(", ")) }
                    }
                    p { a href="/portfolio" { (lang.t("portfolio")) " →" } }
                }
            },
        ),
        Err(ApiError::ImportRejected(rows)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            refused(lang, &file, &rows),
        ),
        Err(error) if error.status().is_client_error() => (
            error.status(),
            html! { p.error role="alert" data-testid="import-refused" {
                (file) ": " (mikawaya_domain::reasons::translate(&error.to_string(), lang.language()))
            } },
        ),
        Err(error) => return super::error_page(&page_user, error),
    };
    (status, page(&page_user, &saved, &upload, outcome)).into_response()
}
