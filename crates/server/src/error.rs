//! The API's errors: one enum, one table mapping each to a stable code and HTTP status,
//! and one JSON shape for all of them: `{"error":{"code","message","field"?,"rows"?}}`.
//!
//! Client mistakes (4xx) are not logged as errors. Our own faults (5xx) are logged once,
//! here, with their whole cause chain, and the client gets a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mikawaya_domain::{DomainError, Invalid};
use mikawaya_import::ImportError;
use mikawaya_store::{RowError, StoreError};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, unknown, of the wrong type, or has a bad value.
    #[error("{0}")]
    InvalidField(Invalid),
    /// The body is not of a type this route accepts.
    #[error("unsupported content type: expected {0}")]
    UnsupportedMediaType(&'static str),
    /// The body is larger than this route accepts.
    #[error("request body too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// No valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Login failed (deliberately vague).
    #[error("wrong email or password")]
    BadCredentials,
    /// Credentials are fine but the action is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated change came without the CSRF token.
    #[error("missing or wrong CSRF token")]
    CsrfFailed,
    /// Nothing there (or nothing the caller may see).
    #[error("{0} not found")]
    NotFound(String),
    /// A unique value is taken or the row is still in use.
    #[error("{field}: {reason}")]
    Conflict {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// An import file's header is unusable.
    #[error("{0}")]
    ImportHeader(String),
    /// An import file had bad rows; nothing was imported.
    #[error("import rejected: {} rows have errors; nothing was imported", .0.len())]
    ImportRejected(Vec<RowError>),
    /// Too many failed logins.
    #[error("too many failed logins; try again in {0} seconds")]
    TooManyAttempts(u64),
    /// The method is not allowed on this route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The disk is full: nothing was written; the same request succeeds once an operator
    /// makes room (answered 503 with Retry-After).
    #[error(
        "the server cannot store anything now: its disk is full; nothing was written, try again later"
    )]
    DiskFull,
    /// Our fault.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.code_and_status().1
    }

    /// The error table: stable code and HTTP status of each variant.
    fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::MalformedJson(_) => ("malformed_json", StatusCode::BAD_REQUEST),
            ApiError::InvalidField(_) => ("invalid_field", StatusCode::BAD_REQUEST),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ApiError::PayloadTooLarge(_) => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
            ApiError::BadCredentials => ("bad_credentials", StatusCode::UNAUTHORIZED),
            ApiError::Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN),
            ApiError::CsrfFailed => ("csrf_failed", StatusCode::FORBIDDEN),
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::Conflict { .. } => ("conflict", StatusCode::CONFLICT),
            ApiError::ImportHeader(_) => ("import_header", StatusCode::UNPROCESSABLE_ENTITY),
            ApiError::ImportRejected(_) => ("import_rejected", StatusCode::UNPROCESSABLE_ENTITY),
            ApiError::TooManyAttempts(_) => ("too_many_attempts", StatusCode::TOO_MANY_REQUESTS),
            ApiError::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            ApiError::DiskFull => ("disk_full", StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// Wraps one of our own faults.
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(error))
    }

    /// An invalid field.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidField(Invalid::new(field, reason))
    }
}

/// The error body, as documented in the OpenAPI document.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The input field at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For rejected imports: every bad row.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<RowError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = %mikawaya_store::error_chain(error.as_ref()), "request failed");
        }
        if let ApiError::DiskFull = &self {
            tracing::error!(
                "the disk of the data dir is full: a write was refused (503) and nothing of it was stored; free space, and writes succeed again without a restart"
            );
        }
        let field = match &self {
            ApiError::InvalidField(invalid) if !invalid.field.is_empty() => {
                Some(invalid.field.clone())
            }
            ApiError::Conflict { field, .. } => Some(field.clone()),
            _ => None,
        };
        let message = match &self {
            ApiError::InvalidField(invalid) => invalid.reason.clone(),
            other => other.to_string(),
        };
        let retry_after = match &self {
            ApiError::TooManyAttempts(seconds) => Some(*seconds),
            ApiError::DiskFull => Some(60),
            _ => None,
        };
        let rows = match self {
            ApiError::ImportRejected(rows) => Some(rows),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
                rows,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::InvalidField(invalid)
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(invalid) => ApiError::InvalidField(invalid),
            DomainError::Forbidden(reason) => ApiError::Forbidden(reason.to_owned()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => ApiError::NotFound(entity.to_owned()),
            StoreError::Conflict { field, reason } => ApiError::Conflict { field, reason },
            StoreError::Invalid(invalid) => ApiError::InvalidField(invalid),
            StoreError::Forbidden(reason) => ApiError::Forbidden(reason.to_owned()),
            StoreError::ImportRejected(rows) => ApiError::ImportRejected(rows),
            other if other.is_disk_full() => ApiError::DiskFull,
            other => ApiError::internal(other),
        }
    }
}

impl From<mikawaya_app::AppError> for ApiError {
    fn from(error: mikawaya_app::AppError) -> Self {
        match error {
            mikawaya_app::AppError::Import(import) => ApiError::from(import),
            other => ApiError::from(StoreError::from(other)),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Header(reason) => ApiError::ImportHeader(reason),
            ImportError::Encoding => ApiError::ImportHeader(error.to_string()),
            ImportError::Rows(rows) => ApiError::ImportRejected(rows),
        }
    }
}

impl From<mikawaya_ingest::IngestError> for ApiError {
    fn from(error: mikawaya_ingest::IngestError) -> Self {
        match error {
            mikawaya_ingest::IngestError::Store(store) => ApiError::from(store),
            mikawaya_ingest::IngestError::Log(mikawaya_ingest::log::LogError::Io {
                ref source,
                ..
            }) if mikawaya_store::is_disk_full(source) => ApiError::DiskFull,
            mikawaya_ingest::IngestError::NotWritten {
                disk_full: true, ..
            } => ApiError::DiskFull,
            other => ApiError::internal(other),
        }
    }
}
