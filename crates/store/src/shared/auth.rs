//! Who is calling, for both engines (ADR 0005): users read back, API tokens and browser
//! sessions. They are rows in the store, so every node of a cluster accepts a token or
//! session another node issued.

use crate::db::{Db, Row};
use crate::shared::row;
use crate::{ApiToken, Result, Session, StoreError};
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::user::User;
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::{Invalid, PartnerId, TokenId, UserId, Visibility};

// --- users ------------------------------------------------------------------

const USER_SELECT: &str =
    "SELECT id, email, name, role, partner_id, locale, created_at, deactivated_at FROM users";

fn user_from_row(row: &Row<'_>) -> Result<User> {
    Ok(User {
        id: UserId::new(row.get(0)?),
        email: row.parsed(1, Email::parse)?,
        name: row.parsed(2, Name::parse)?,
        role: row.parsed(3, Role::parse)?,
        partner_id: row.get::<Option<i64>>(4)?.map(PartnerId::new),
        locale: row.get(5)?,
        created_at: row.parsed(6, row::timestamp)?,
        deactivated_at: row.parsed_opt(7, row::timestamp)?,
    })
}

pub(crate) fn list_users(db: &Db<'_>, visibility: Visibility) -> Result<Vec<User>> {
    match visibility {
        Visibility::All => db.query_map(
            &format!("{USER_SELECT} ORDER BY name, id"),
            &[],
            user_from_row,
        ),
        Visibility::Partner(own) => db.query_map(
            &format!("{USER_SELECT} WHERE partner_id = ?1 ORDER BY name, id"),
            &[own.get().into()],
            user_from_row,
        ),
    }
}

pub(crate) fn get_user(db: &Db<'_>, visibility: Visibility, id: UserId) -> Result<User> {
    let user = db
        .query_opt(
            &format!("{USER_SELECT} WHERE id = ?1"),
            &[id.get().into()],
            user_from_row,
        )?
        .ok_or(StoreError::NotFound { entity: "user" })?;
    match visibility {
        Visibility::Partner(own) if user.partner_id != Some(own) => {
            Err(StoreError::NotFound { entity: "user" })
        }
        _ => Ok(user),
    }
}

/// An active user by email, with their password hash.
pub(crate) fn find_user_by_email(
    db: &Db<'_>,
    email: &Email,
) -> Result<Option<(User, Option<String>)>> {
    db.query_opt(
        "SELECT id, email, name, role, partner_id, locale, created_at, deactivated_at, password_hash \
         FROM users WHERE email = ?1 AND deactivated_at IS NULL",
        &[email.as_str().into()],
        |row| Ok((user_from_row(row)?, row.get::<Option<String>>(8)?)),
    )
}

// --- tokens and sessions ----------------------------------------------------

const TOKEN_SELECT: &str =
    "SELECT id, name, scope, user_id, created_at, revoked_at FROM api_tokens";

fn token_from_row(row: &Row<'_>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId::new(row.get(0)?),
        name: row.parsed(1, Name::parse)?,
        scope: row.parsed(2, Scope::parse)?,
        user_id: row.get::<Option<i64>>(3)?.map(UserId::new),
        created_at: row.parsed(4, row::timestamp)?,
        revoked_at: row.parsed_opt(5, row::timestamp)?,
    })
}

pub(crate) fn create_token(
    db: &Db<'_>,
    name: Name,
    scope: Scope,
    user_id: Option<UserId>,
    token_hash: String,
) -> Result<ApiToken> {
    if let Some(user_id) = user_id {
        get_user(db, Visibility::All, user_id)
            .map_err(|_| Invalid::new("user_id", format!("no user {user_id}")))?;
    }
    let id: i64 = db.query_one(
        "INSERT INTO api_tokens (name, scope, user_id, token_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        &[
            name.as_str().into(),
            scope.to_string().into(),
            user_id.map(UserId::get).into(),
            token_hash.into(),
            row::now().into(),
        ],
        |row| row.get(0),
    )?;
    db.query_one(
        &format!("{TOKEN_SELECT} WHERE id = ?1"),
        &[id.into()],
        token_from_row,
    )
}

pub(crate) fn list_tokens(db: &Db<'_>) -> Result<Vec<ApiToken>> {
    db.query_map(
        &format!("{TOKEN_SELECT} ORDER BY id DESC"),
        &[],
        token_from_row,
    )
}

pub(crate) fn revoke_token(db: &Db<'_>, id: TokenId) -> Result<()> {
    let changed = db.execute(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
        &[row::now().into(), id.get().into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "token" });
    }
    Ok(())
}

/// A token in force by its hash, with its user (none when that user is deactivated).
pub(crate) fn find_token(
    db: &Db<'_>,
    token_hash: &str,
) -> Result<Option<(ApiToken, Option<User>)>> {
    let token = db.query_opt(
        &format!("{TOKEN_SELECT} WHERE token_hash = ?1 AND revoked_at IS NULL"),
        &[token_hash.into()],
        token_from_row,
    )?;
    let Some(token) = token else { return Ok(None) };
    let user = token
        .user_id
        .map(|id| get_user(db, Visibility::All, id))
        .transpose()?;
    if user.as_ref().is_some_and(|u| u.deactivated_at.is_some()) {
        return Ok(None);
    }
    Ok(Some((token, user)))
}

pub(crate) fn create_session(
    db: &Db<'_>,
    token_hash: String,
    user_id: UserId,
    csrf_token: String,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    db.execute(
        "DELETE FROM sessions WHERE expires_at < ?1",
        &[row::now().into()],
    )?;
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            token_hash.into(),
            user_id.get().into(),
            csrf_token.into(),
            row::now().into(),
            row::instant(expires_at).into(),
        ],
    )?;
    Ok(())
}

/// A session in force at `now` by its hash, of an active user.
pub(crate) fn find_session(
    db: &Db<'_>,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<Session>> {
    let found = db.query_opt(
        "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = \
             ?1 AND expires_at > ?2",
        &[token_hash.into(), row::instant(now).into()],
        |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<String>(1)?,
                row.parsed(2, row::timestamp)?,
            ))
        },
    )?;
    let Some((user_id, csrf_token, expires_at)) = found else {
        return Ok(None);
    };
    let user = get_user(db, Visibility::All, UserId::new(user_id))?;
    if user.deactivated_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Session {
        user,
        csrf_token,
        expires_at,
    }))
}

pub(crate) fn delete_session(db: &Db<'_>, token_hash: &str) -> Result<()> {
    db.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        &[token_hash.into()],
    )?;
    Ok(())
}

/// The failed logins under `key` after `since`: how many, and the oldest.
pub(crate) fn login_failures(
    db: &Db<'_>,
    key: &str,
    since: jiff::Timestamp,
) -> Result<(u64, Option<jiff::Timestamp>)> {
    db.query_one(
        "SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = ?1 AND at > ?2",
        &[key.into(), row::instant(since).into()],
        |r| {
            let count: i64 = r.get(0)?;
            Ok((
                u64::try_from(count).unwrap_or(0),
                r.parsed_opt(1, row::timestamp)?,
            ))
        },
    )
}

/// Records a failed login at `at` under each of `keys`, forgetting their failures from
/// before `forget_before`.
pub(crate) fn add_login_failure(
    db: &Db<'_>,
    keys: &[String],
    at: jiff::Timestamp,
    forget_before: jiff::Timestamp,
) -> Result<()> {
    for key in keys {
        db.execute(
            "DELETE FROM login_failures WHERE key = ?1 AND at <= ?2",
            &[key.into(), row::instant(forget_before).into()],
        )?;
        db.execute(
            "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
            &[key.into(), row::instant(at).into()],
        )?;
    }
    Ok(())
}

/// Forgets the failed logins under each of `keys`.
pub(crate) fn clear_login_failures(db: &Db<'_>, keys: &[String]) -> Result<()> {
    for key in keys {
        db.execute("DELETE FROM login_failures WHERE key = ?1", &[key.into()])?;
    }
    Ok(())
}
