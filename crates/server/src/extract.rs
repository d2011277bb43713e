//! Extractors: validated JSON bodies and query strings that fail with our error shape, and
//! the authenticated caller (bearer token or session cookie with CSRF).

use crate::auth::{self, CSRF_HEADER, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::CookieJar;
use mikawaya_domain::{Actor, Invalid};
use serde::de::DeserializeOwned;

/// A JSON request body; malformed JSON, wrong types and unknown fields are 400 errors that
/// name the field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Deserializes JSON bytes, naming the failing field by its path.
/// Anything after the JSON value but white space is refused: `{"name":"x"} xyz` is not a body.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson(inner.to_string())
        } else {
            let field = if path == "." {
                unknown_field(&inner.to_string()).unwrap_or_default()
            } else {
                path
            };
            ApiError::InvalidField(Invalid::new(field, strip_position(&inner.to_string())))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// serde reports an unknown field as "unknown field `x`, expected ..." at the parent's path.
fn unknown_field(message: &str) -> Option<String> {
    let start = message.find("field `")? + "field `".len();
    let end = message[start..].find('`')? + start;
    Some(message[start..end].to_owned())
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json") || value.contains("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        let bytes = read_body(request, state).await?;
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first.is_some_and(|byte| *byte != b'{')
            && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok()
        {
            return Err(ApiError::field("", "the body must be a JSON object"));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// Reads a body within the route's limit.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(0)
            } else {
                ApiError::MalformedJson(rejection.body_text())
            }
        })
}

/// Path parameters deserialized into `T`; a malformed one (`/accounts/abc`) is a 400 in the
/// API's error shape naming it, not axum's plain text.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        // The route's one parameter, when it has one (a lone value's error names no key).
        let only = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|m| {
                m.as_str()
                    .split('{')
                    .skip(1)
                    .filter_map(|rest| rest.split('}').next())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter(|names| names.len() == 1)
            .and_then(|mut names| names.pop());
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let field = match error.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => only.unwrap_or_else(|| "path".to_owned()),
                };
                let reason = match error.kind() {
                    ErrorKind::ParseErrorAtKey {
                        value,
                        expected_type,
                        ..
                    }
                    | ErrorKind::ParseError {
                        value,
                        expected_type,
                    } => format!("'{value}' is not {expected_type}"),
                    other => other.to_string(),
                };
                Err(ApiError::InvalidField(Invalid::new(field, reason)))
            }
            Err(other) => Err(ApiError::InvalidField(Invalid::new(
                "path",
                other.body_text(),
            ))),
        }
    }
}

/// A query string deserialized into `T`, naming the failing parameter.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(QueryParams)
    }
}

/// Deserializes a query string, naming the failing parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = if path == "." {
            unknown_field(&message).unwrap_or_default()
        } else {
            path
        };
        ApiError::InvalidField(Invalid::new(field, message))
    })
}

/// The authenticated caller of an API route.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

/// Resolves the caller from a bearer token or a session cookie. Cookie-authenticated
/// requests that change something must echo the session's CSRF token in `X-CSRF-Token`.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
    check_csrf: bool,
) -> Result<Actor, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        let hash = auth::secret_hash(token);
        let found = state.run(move |store| store.find_token(&hash)).await?;
        let (token, user) = found.ok_or(ApiError::Unauthenticated)?;
        return auth::token_actor(&token, user.as_ref()).ok_or(ApiError::Unauthenticated);
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let session_id = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ApiError::Unauthenticated)?;
    let hash = auth::secret_hash(&session_id);
    let session = state
        .run(move |store| store.find_session(&hash, jiff::Timestamp::now()))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if check_csrf && changes {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !auth::secrets_match(sent, &session.csrf_token) {
            return Err(ApiError::CsrfFailed);
        }
    }
    auth::session_actor(&session.user).ok_or(ApiError::Unauthenticated)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, true).await.map(Caller)
    }
}
