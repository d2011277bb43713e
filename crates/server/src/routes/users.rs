//! `/api/v1/users` and `/api/v1/tokens`: the CS team and API tokens.

use crate::auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody};
use crate::state::AppState;
use crate::wire::{PageOut, instant, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::access::Scope;
use mikawaya_domain::user::User;
use mikawaya_domain::value::Name;
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
        .routes(routes!(get_user, delete_user, change_user))
        .routes(routes!(deactivate_user))
        .routes(routes!(activate_user))
        .routes(routes!(audit_log))
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
    /// False once deactivated (no login, no tokens).
    active: bool,
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
            active: user.deactivated_at.is_none(),
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
    /// The partner by its external id (instead of `partner_id`).
    partner_external_id: Option<String>,
    /// At least 12 characters.
    password: Option<String>,
}

/// Checks (`mikawaya_app::credentials::check_password`) and hashes a new password.
pub fn hash_new_password(password: &str) -> Result<String, ApiError> {
    mikawaya_app::credentials::check_password(password)?;
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
    let invitation = mikawaya_app::people::Invitation {
        email: body.email.clone(),
        name: body.name.clone(),
        role: body.role.clone(),
        partner: body
            .partner_external_id
            .clone()
            .or_else(|| body.partner_id.map(|id| format!("#{id}"))),
    };
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
        .run(move |store| {
            Ok(mikawaya_app::people::invite(
                store,
                &access,
                &invitation,
                password_hash,
            )?)
        })
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

/// A change to a user: name, role, partner (by external id or number; null removes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeIn {
    name: Option<String>,
    role: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    #[schema(value_type = Option<String>)]
    partner: Option<Option<String>>,
}

/// Changes a user's name, role or partner (admins only; recorded; the user is logged out
/// when what they may see changes).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "user id")),
    request_body = UserChangeIn,
    responses((status = 200, body = UserOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn change_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<UserChangeIn>,
) -> Result<Json<UserOut>, ApiError> {
    let access = actor.admin()?;
    let change = mikawaya_app::people::Change {
        name: body.name,
        role: body.role,
        partner: body.partner.map(Option::unwrap_or_default),
    };
    let user = state
        .run(move |store| {
            Ok(mikawaya_app::people::change(
                store,
                &access,
                UserId::new(id),
                &change,
            )?)
        })
        .await?;
    Ok(Json(user.into()))
}

async fn set_active(
    state: &AppState,
    actor: mikawaya_domain::Actor,
    id: i64,
    active: bool,
) -> Result<Json<UserOut>, ApiError> {
    let access = actor.admin()?;
    let user = state
        .run(move |store| store.set_user_active(&access, UserId::new(id), active))
        .await?;
    Ok(Json(user.into()))
}

/// Deactivates a user: logged out, their tokens revoked, no login; kept with their history
/// (admins only; nobody deactivates themselves).
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deactivate_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    set_active(&state, actor, id, false).await
}

/// Activates a deactivated user again (admins only).
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorBody)))]
async fn activate_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    set_active(&state, actor, id, true).await
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Its number (the next page starts below the last one's).
    id: i64,
    at: String,
    /// The user who made it; null: the system.
    actor_id: Option<i64>,
    /// Their login email; null: the system.
    actor_email: Option<String>,
    /// account, contact, subscription, touchpoint, task, playbook, configuration, token,
    /// write_key, feature_request, user, partner, segment or custom_field.
    object: String,
    /// Its id (or name and version for playbooks and configuration).
    object_key: String,
    /// create, update, delete, deactivate or activate.
    action: String,
    /// The object before the change (none when created).
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    /// The object after the change (none when deleted).
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
}

/// Which changes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
    /// One kind of object (account, contact, task, configuration, ...).
    object: Option<String>,
    /// One object's id (with `object`).
    key: Option<String>,
    /// Changes by one user, or `system`.
    actor: Option<String>,
    /// At or after (RFC 3339 or YYYY-MM-DD, UTC).
    from: Option<String>,
    /// Before (RFC 3339 or YYYY-MM-DD, UTC).
    to: Option<String>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
}

/// Every change to customer data and configuration (accounts, contacts, subscriptions,
/// touchpoints, tasks, playbooks, scorecards and other configuration, tokens, write keys,
/// feature requests, people, partners, segments, custom fields), newest first, with who
/// (null: the system), when, before and after; admins only. `format=csv` gives a file.
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(AuditParams),
    responses((status = 200, description = "JSON, or text/csv with format=csv",
                content((PageOut<AuditOut> = "application/json"), (String = "text/csv"))),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    Caller(actor): Caller,
    crate::extract::QueryParams(params): crate::extract::QueryParams<AuditParams>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let access = actor.admin()?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("'{other}' is not one of: json, csv"),
            ));
        }
    };
    let limit = params
        .limit
        .unwrap_or(100)
        .clamp(1, if csv { 100_000 } else { 1000 });
    let filter = mikawaya_app::audit::Query {
        object: params.object.as_deref(),
        key: params.key.as_deref(),
        actor: params.actor.as_deref(),
        from: params.from.as_deref(),
        to: params.to.as_deref(),
        cursor: params.cursor.as_deref(),
    }
    .filter(limit)?;
    let rows = state
        .run(move |store| Ok(mikawaya_app::audit::read(store, &access, &filter)?))
        .await?;
    if csv {
        return Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"",
                ),
            ],
            mikawaya_app::audit::csv(&rows),
        )
            .into_response());
    }
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.entry.id.to_string()))
        .flatten();
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let data = rows
        .into_iter()
        .map(|row| AuditOut {
            id: row.entry.id,
            at: instant(row.entry.at),
            actor_id: row.entry.actor_id.map(UserId::get),
            actor_email: row.actor_email,
            object: row.entry.object,
            object_key: row.entry.object_key,
            action: row.entry.action,
            before: json(row.entry.before),
            after: json(row.entry.after),
        })
        .collect();
    Ok(Json(PageOut { data, next_cursor }).into_response())
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
