//! `/api/v1/users` and `/api/v1/tokens`: the CS team and API tokens.

use crate::auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody};
use crate::state::AppState;
use crate::wire::{instant, required};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::user::{NewUser, User};
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::{PartnerId, TokenId, UserId};
use mikawaya_store::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of these resources.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, delete_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    id: i64,
    email: String,
    name: String,
    /// admin, leader, csm, partner or viewer.
    role: String,
    partner_id: Option<i64>,
    locale: Option<String>,
    created_at: String,
}

impl From<User> for UserOut {
    fn from(user: User) -> Self {
        Self {
            id: user.id.get(),
            email: user.email.into(),
            name: user.name.into(),
            role: user.role.as_str().to_owned(),
            partner_id: user.partner_id.map(PartnerId::get),
            locale: user.locale,
            created_at: instant(user.created_at),
        }
    }
}

/// A user to create. Without a password the user can use API tokens only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    email: String,
    name: Option<String>,
    role: String,
    partner_id: Option<i64>,
    /// At least 12 characters.
    password: Option<String>,
}

/// The smallest password length accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks and hashes a new password.
pub fn hash_new_password(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::field(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    auth::hash_password(password).map_err(|e| ApiError::Internal(e.to_string().into()))
}

/// Users the caller can see.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<UserOut>)))]
async fn list_users(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<UserOut>>, ApiError> {
    let access = actor.read();
    let users = state.run(move |store| store.list_users(&access)).await?;
    Ok(Json(users.into_iter().map(UserOut::from).collect()))
}

/// Creates a user (admins only).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserCreate,
    responses((status = 201, body = UserOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<UserCreate>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    let access = actor.admin()?;
    let email = required(&body.email, "email", Email::parse)?;
    let name = match body.name.as_deref() {
        Some(name) => required(name, "name", Name::parse)?,
        None => required(email.as_str(), "name", Name::parse)?,
    };
    let role = required(&body.role, "role", Role::parse)?;
    let new_user = NewUser::new(email, name, role, body.partner_id.map(PartnerId::new))?;
    let password_hash = match body.password.as_deref() {
        Some(password) => {
            let password = password.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_new_password(&password))
                    .await
                    .map_err(ApiError::internal)??,
            )
        }
        None => None,
    };
    let user = state
        .run(move |store| store.create_user(&access, new_user, password_hash))
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    let access = actor.read();
    let user = state
        .run(move |store| store.get_user(&access, UserId::new(id)))
        .await?;
    Ok(Json(user.into()))
}

/// Deletes a user (admins only).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.admin()?;
    state
        .run(move |store| store.delete_user(&access, UserId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API token as listed (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    id: i64,
    name: String,
    /// read, write or admin.
    scope: String,
    user_id: Option<i64>,
    created_at: String,
    revoked_at: Option<String>,
}

impl From<ApiToken> for TokenOut {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id.get(),
            name: token.name.into(),
            scope: token.scope.as_str().to_owned(),
            user_id: token.user_id.map(UserId::get),
            created_at: instant(token.created_at),
            revoked_at: token.revoked_at.map(instant),
        }
    }
}

/// A token to create: it acts as `user_id` (capped by `scope`), or as a service.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    name: String,
    /// read, write or admin.
    scope: String,
    user_id: Option<i64>,
}

/// A created token: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    token: TokenOut,
    /// Send as `Authorization: Bearer <token>`.
    secret: String,
}

/// API tokens (admins only).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenOut>)))]
async fn list_tokens(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<TokenOut>>, ApiError> {
    let access = actor.admin()?;
    let tokens = state.run(move |store| store.list_tokens(&access)).await?;
    Ok(Json(tokens.into_iter().map(TokenOut::from).collect()))
}

/// Creates an API token (admins only).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenCreate,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<TokenCreate>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let access = actor.admin()?;
    let name = required(&body.name, "name", Name::parse)?;
    let scope = required(&body.scope, "scope", Scope::parse)?;
    let (secret, hash) = auth::new_token();
    let user_id = body.user_id.map(UserId::new);
    let token = state
        .run(move |store| store.create_token(&access, name, scope, user_id, hash))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token: token.into(),
            secret,
        }),
    ))
}

/// Revokes an API token (admins only).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.admin()?;
    state
        .run(move |store| store.revoke_token(&access, TokenId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
