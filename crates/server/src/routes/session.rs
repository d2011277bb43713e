//! `/api/v1/session` and `/api/v1/me`: password login for browsers and scripts.

use crate::auth::LoginLimiter;
use crate::auth::{self, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody};
use crate::routes::users::UserOut;
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use mikawaya_domain::user::User;
use mikawaya_domain::value::Email;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, delete_session))
        .routes(routes!(me))
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    user: UserOut,
    /// Send as `X-CSRF-Token` with every change made with the session cookie.
    csrf_token: String,
}

/// A successful login: the cookie value, the CSRF token and the user.
pub struct LoggedIn {
    /// The session secret for the cookie.
    pub secret: String,
    /// The CSRF token of the session.
    pub csrf_token: String,
    /// Who.
    pub user: User,
}

/// Checks a password login, throttling failures, and opens a session.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    address: &str,
) -> Result<LoggedIn, ApiError> {
    let email_key = email.trim().to_lowercase();
    let (key, from) = (email_key.clone(), address.to_owned());
    let (locked, delay) = state
        .run(move |store| {
            let now = jiff::Timestamp::now();
            Ok((
                LoginLimiter::locked_for(store, &key, &from, now)?,
                LoginLimiter::delay_for(store, &key, now)?,
            ))
        })
        .await?;
    if let Some(seconds) = locked {
        return Err(ApiError::TooManyAttempts(seconds));
    }
    // Guesses from elsewhere slow this email's logins down; they never lock its owner out.
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let parsed = Email::parse(email).ok();
    let found = match parsed {
        Some(email) => state.run(move |store| store.find_login(&email)).await?,
        None => None,
    };
    let password = password.to_owned();
    let user = tokio::task::spawn_blocking(move || match found {
        Some((user, Some(hash))) if auth::verify_password(&password, &hash) => Some(user),
        _ => None,
    })
    .await
    .map_err(ApiError::internal)?;
    let (key, from) = (email_key, address.to_owned());
    let Some(user) = user else {
        state
            .run(move |store| {
                LoginLimiter::record_failure(store, &key, &from, jiff::Timestamp::now())
            })
            .await?;
        tracing::info!(address, "failed login");
        return Err(ApiError::BadCredentials);
    };
    state
        .run(move |store| LoginLimiter::record_success(store, &key, &from))
        .await?;
    open_session(state, user).await
}

/// Opens a session for a user who proved who they are (a password, single sign-on).
pub async fn open_session(state: &AppState, user: User) -> Result<LoggedIn, ApiError> {
    let (secret, csrf_token) = (auth::random_secret(), auth::random_secret());
    let (hash, csrf, user_id) = (auth::secret_hash(&secret), csrf_token.clone(), user.id);
    let expires_at =
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(state.config.session_hours);
    state
        .run(move |store| store.create_session(hash, user_id, csrf, expires_at))
        .await?;
    Ok(LoggedIn {
        secret,
        csrf_token,
        user,
    })
}

/// The session cookie for a secret. It has no Max-Age (it ends with the browser); the
/// server ends the session itself after `session_hours`.
pub fn session_cookie(state: &AppState, secret: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, secret))
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
}

/// Ends the session named by the cookie, if any, and returns the jar that removes it.
pub async fn logout(state: &AppState, jar: CookieJar) -> Result<CookieJar, ApiError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let hash = auth::secret_hash(cookie.value());
        state.run(move |store| store.delete_session(&hash)).await?;
    }
    Ok(jar.remove(Cookie::build(SESSION_COOKIE).path("/").build()))
}

/// Logs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginBody, security(()),
    responses((status = 201, body = SessionOut), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<(StatusCode, CookieJar, Json<SessionOut>), ApiError> {
    let logged_in = login(
        &state,
        &body.email,
        &body.password,
        &address.ip().to_string(),
    )
    .await?;
    let jar = jar.add(session_cookie(&state, logged_in.secret));
    Ok((
        StatusCode::CREATED,
        jar,
        Json(SessionOut {
            user: logged_in.user.into(),
            csrf_token: logged_in.csrf_token,
        }),
    ))
}

/// Logs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
async fn delete_session(
    State(state): State<AppState>,
    Caller(_actor): Caller,
    jar: CookieJar,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let jar = logout(&state, jar).await?;
    Ok((StatusCode::NO_CONTENT, jar))
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// The user, if the caller is one (service tokens are not).
    user: Option<UserOut>,
    /// The effective role.
    role: String,
    /// The token scope (admin for sessions).
    scope: String,
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = MeOut), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, Caller(actor): Caller) -> Result<Json<MeOut>, ApiError> {
    let access = actor.read();
    let user = match actor.user_id() {
        Some(id) => Some(
            state
                .run(move |store| store.get_user(&access, id))
                .await?
                .into(),
        ),
        None => None,
    };
    Ok(Json(MeOut {
        user,
        role: actor.role().as_str().to_owned(),
        scope: actor.scope().as_str().to_owned(),
    }))
}
