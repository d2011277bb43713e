//! The CS team and configuration in SQLite: partners, users, API tokens, sessions, custom
//! field definitions and segments.

use super::row::{self, parsed, parsed_opt};
use super::sql::{opt_id, opt_text, text};
use crate::db::Db;
use crate::shared::{audit as shared_audit, auth, partners};
use crate::{Result, StoreError, WriteKey};
use mikawaya_domain::access::Role;
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::partner::Partner;
use mikawaya_domain::patch::Patch;
use mikawaya_domain::segment::{NewSegment, Segment};
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::{Name, Slug, Text};
use mikawaya_domain::{Invalid, PartnerId, SegmentId, UserId, Visibility};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};

// --- partners (shared with PostgreSQL: `shared::partners`) -------------------

pub(crate) fn list_partners(
    connection: &Connection,
    visibility: Visibility,
) -> Result<Vec<Partner>> {
    partners::list_partners(&Db::Sqlite(connection), visibility)
}

pub(crate) fn get_partner(
    connection: &Connection,
    visibility: Visibility,
    id: PartnerId,
) -> Result<Partner> {
    partners::get_partner(&Db::Sqlite(connection), visibility, id)
}

// --- users ------------------------------------------------------------------

/// The users the caller can see (shared with PostgreSQL: `shared::auth`).
pub(crate) fn list_users(connection: &Connection, visibility: Visibility) -> Result<Vec<User>> {
    auth::list_users(&Db::Sqlite(connection), visibility)
}

/// A user the caller can see (shared with PostgreSQL: `shared::auth`).
pub(crate) fn get_user(
    connection: &Connection,
    visibility: Visibility,
    id: UserId,
) -> Result<User> {
    auth::get_user(&Db::Sqlite(connection), visibility, id)
}

/// Refuses a reference to a user the caller cannot see, in the words of a missing one
/// (a partner learns nothing of the team's users from an id it tries): `field` is named.
pub(crate) fn check_user_reference(
    connection: &Connection,
    visibility: Visibility,
    id: UserId,
    field: &str,
) -> Result<()> {
    match get_user(connection, visibility, id) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            Err(mikawaya_domain::Invalid::new(field, format!("no user has id {id}")).into())
        }
        Err(other) => Err(other),
    }
}

pub(crate) fn create_user(
    connection: &Connection,
    actor: Option<UserId>,
    new: NewUser,
    password_hash: Option<String>,
) -> Result<User> {
    if let Some(partner_id) = new.partner_id() {
        get_partner(connection, Visibility::All, partner_id)
            .map_err(|_| Invalid::new("partner_id", format!("no partner {partner_id}")))?;
    }
    connection
        .execute(
            "INSERT INTO users (email, name, role, partner_id, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params_from_iter([
                text(new.email()),
                text(new.name()),
                text(new.role()),
                opt_id(new.partner_id().map(PartnerId::get)),
                opt_text(password_hash),
                text(row::now()),
            ]),
        )
        .map_err(|error| {
            let error = StoreError::Database(error);
            if error.is_unique_violation() {
                StoreError::Conflict { field: "email".into(), reason: "a user with this email exists".into() }
            } else {
                error
            }
        })?;
    let created = get_user(
        connection,
        Visibility::All,
        UserId::new(connection.last_insert_rowid()),
    )?;
    audit(
        connection,
        actor,
        "user",
        &created.id.to_string(),
        "create",
        None,
        Some(user_json(&created)),
    )?;
    Ok(created)
}

pub(crate) fn set_user_column(
    connection: &Connection,
    id: UserId,
    column: &str,
    value: Option<String>,
) -> Result<()> {
    let changed = connection.execute(
        &format!("UPDATE users SET {column} = ?1 WHERE id = ?2"),
        rusqlite::params![value, id.get()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "user" });
    }
    Ok(())
}

pub(crate) fn delete_user(
    connection: &Connection,
    actor: Option<UserId>,
    id: UserId,
) -> Result<()> {
    let before = get_user(connection, Visibility::All, id)?;
    connection.execute("DELETE FROM users WHERE id = ?1", [id.get()])?;
    audit(
        connection,
        actor,
        "user",
        &id.to_string(),
        "delete",
        Some(user_json(&before)),
        None,
    )
}

/// Changes a user's name, role or partner (checked together).
pub(crate) fn update_user(
    connection: &Connection,
    actor: Option<UserId>,
    id: UserId,
    change: UserChange,
) -> Result<User> {
    let before = get_user(connection, Visibility::All, id)?;
    let partner_id = match change.partner_id {
        Patch::Keep => before.partner_id,
        Patch::Clear => None,
        Patch::Set(partner) => Some(partner),
    };
    let role = change.role.unwrap_or(before.role);
    // A partner user moved to another role leaves the partner unless one is given.
    let partner_id = if role != Role::Partner && matches!(change.partner_id, Patch::Keep) {
        None
    } else {
        partner_id
    };
    let checked = NewUser::new(
        before.email.clone(),
        change.name.unwrap_or_else(|| before.name.clone()),
        role,
        partner_id,
    )?;
    if let Some(partner) = checked.partner_id() {
        get_partner(connection, Visibility::All, partner)
            .map_err(|_| Invalid::new("partner_id", format!("no partner {partner}")))?;
    }
    connection.execute(
        "UPDATE users SET name = ?1, role = ?2, partner_id = ?3 WHERE id = ?4",
        rusqlite::params![
            checked.name().as_str(),
            checked.role().as_str(),
            checked.partner_id().map(PartnerId::get),
            id.get()
        ],
    )?;
    let after = get_user(connection, Visibility::All, id)?;
    if after != before {
        // A changed role or partner changes what the person may see: log them out.
        connection.execute("DELETE FROM sessions WHERE user_id = ?1", [id.get()])?;
        audit(
            connection,
            actor,
            "user",
            &id.to_string(),
            "update",
            Some(user_json(&before)),
            Some(user_json(&after)),
        )?;
    }
    Ok(after)
}

/// Deactivates a user (logged out, tokens revoked, no login) or activates them again.
pub(crate) fn set_user_active(
    connection: &Connection,
    actor: Option<UserId>,
    id: UserId,
    active: bool,
) -> Result<User> {
    let before = get_user(connection, Visibility::All, id)?;
    if before.deactivated_at.is_none() == active {
        return Ok(before);
    }
    if !active && actor == Some(id) {
        return Err(Invalid::new("id", "you cannot deactivate yourself").into());
    }
    let now = row::now();
    connection.execute(
        "UPDATE users SET deactivated_at = ?1 WHERE id = ?2",
        rusqlite::params![(!active).then_some(&now), id.get()],
    )?;
    if !active {
        connection.execute("DELETE FROM sessions WHERE user_id = ?1", [id.get()])?;
        connection.execute(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
            rusqlite::params![now, id.get()],
        )?;
    }
    let after = get_user(connection, Visibility::All, id)?;
    let action = if active { "activate" } else { "deactivate" };
    audit(
        connection,
        actor,
        "user",
        &id.to_string(),
        action,
        Some(user_json(&before)),
        Some(user_json(&after)),
    )?;
    Ok(after)
}

// --- the audit log ----------------------------------------------------------

fn user_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "email": user.email.as_str(),
        "name": user.name.as_str(),
        "role": user.role.as_str(),
        "partner_id": user.partner_id.map(PartnerId::get),
        "active": user.deactivated_at.is_none(),
    })
}

fn segment_json(segment: &Segment) -> serde_json::Value {
    serde_json::json!({
        "name": segment.name.as_str(),
        "description": segment.description.as_ref().map(ToString::to_string),
        "filter": serde_json::to_value(&segment.filter).unwrap_or_default(),
    })
}

fn field_json(definition: &CustomFieldDef) -> serde_json::Value {
    serde_json::json!({
        "label": definition.label().as_str(),
        "kind": definition.kind().as_str(),
        "options": definition.options(),
    })
}

/// Records a change with who made it (shared with PostgreSQL: `shared::audit`).
pub(crate) fn audit(
    connection: &Connection,
    actor: Option<UserId>,
    object: &str,
    key: &str,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    shared_audit::audit(
        &Db::Sqlite(connection),
        actor,
        object,
        key,
        action,
        before,
        after,
    )
}

// --- custom fields ----------------------------------------------------------

pub(crate) fn custom_fields(connection: &Connection) -> Result<Vec<CustomFieldDef>> {
    let mut statement = connection
        .prepare_cached("SELECT key, label, kind, options FROM custom_fields ORDER BY key")?;
    let rows = statement.query_map([], |row| {
        let options: Vec<String> = parsed(row, 3, row::json)?;
        let key = parsed(row, 0, Slug::parse)?;
        let label = parsed(row, 1, Name::parse)?;
        let kind = parsed(row, 2, CustomFieldKind::parse)?;
        CustomFieldDef::new(key, label, kind, options).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn put_custom_field(
    connection: &Connection,
    actor: Option<UserId>,
    definition: &CustomFieldDef,
) -> Result<()> {
    let before = custom_fields(connection)?
        .into_iter()
        .find(|d| d.key() == definition.key());
    connection.execute(
        "INSERT INTO custom_fields (key, label, kind, options) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (key) DO UPDATE SET label = excluded.label, kind = excluded.kind, options = excluded.options",
        rusqlite::params![
            definition.key().as_str(),
            definition.label().as_str(),
            definition.kind().as_str(),
            serde_json::to_string(definition.options()).unwrap_or_else(|_| "[]".into())
        ],
    )?;
    match before {
        Some(before) if before == *definition => Ok(()),
        Some(before) => audit(
            connection,
            actor,
            "custom_field",
            definition.key().as_str(),
            "update",
            Some(field_json(&before)),
            Some(field_json(definition)),
        ),
        None => audit(
            connection,
            actor,
            "custom_field",
            definition.key().as_str(),
            "create",
            None,
            Some(field_json(definition)),
        ),
    }
}

pub(crate) fn delete_custom_field(
    connection: &Connection,
    actor: Option<UserId>,
    key: &str,
) -> Result<()> {
    let before = custom_fields(connection)?
        .into_iter()
        .find(|d| d.key().as_str() == key)
        .ok_or(StoreError::NotFound {
            entity: "custom field",
        })?;
    connection.execute("DELETE FROM custom_fields WHERE key = ?1", [key])?;
    audit(
        connection,
        actor,
        "custom_field",
        key,
        "delete",
        Some(field_json(&before)),
        None,
    )
}

// --- segments ---------------------------------------------------------------

const SEGMENT_SELECT: &str =
    "SELECT id, name, description, filter, created_at, updated_at FROM segments";

fn segment_from_row(row: &Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        id: SegmentId::new(row.get(0)?),
        name: parsed(row, 1, Name::parse)?,
        description: parsed_opt(row, 2, Text::parse)?,
        filter: parsed(row, 3, row::json)?,
        created_at: parsed(row, 4, row::timestamp)?,
        updated_at: parsed(row, 5, row::timestamp)?,
    })
}

pub(crate) fn list_segments(connection: &Connection) -> Result<Vec<Segment>> {
    let rows: rusqlite::Result<Vec<Segment>> = connection
        .prepare_cached(&format!("{SEGMENT_SELECT} ORDER BY name"))?
        .query_map([], segment_from_row)?
        .collect();
    Ok(rows?)
}

pub(crate) fn get_segment(connection: &Connection, id: SegmentId) -> Result<Segment> {
    connection
        .prepare_cached(&format!("{SEGMENT_SELECT} WHERE id = ?1"))?
        .query_row([id.get()], segment_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { entity: "segment" })
}

pub(crate) fn save_segment(
    connection: &Connection,
    actor: Option<UserId>,
    id: Option<SegmentId>,
    segment: NewSegment,
) -> Result<Segment> {
    let before = id.map(|id| get_segment(connection, id)).transpose()?;
    let filter =
        serde_json::to_string(&segment.filter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = row::now();
    let result = match id {
        None => connection.execute(
            "INSERT INTO segments (name, description, filter, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            rusqlite::params_from_iter([text(&segment.name), opt_text(segment.description.as_ref()), Value::Text(filter), text(now)]),
        ),
        Some(id) => {
            get_segment(connection, id)?;
            connection.execute(
                "UPDATE segments SET name = ?1, description = ?2, filter = ?3, updated_at = ?4 WHERE id = ?5",
                rusqlite::params_from_iter([
                    text(&segment.name),
                    opt_text(segment.description.as_ref()),
                    Value::Text(filter),
                    text(now),
                    Value::Integer(id.get()),
                ]),
            )
        }
    };
    result.map_err(|error| {
        let error = StoreError::Database(error);
        if error.is_unique_violation() {
            StoreError::Conflict {
                field: "name".into(),
                reason: "a segment with this name exists".into(),
            }
        } else {
            error
        }
    })?;
    let after = get_segment(
        connection,
        id.unwrap_or(SegmentId::new(connection.last_insert_rowid())),
    )?;
    let action = if before.is_some() { "update" } else { "create" };
    audit(
        connection,
        actor,
        "segment",
        &after.id.to_string(),
        action,
        before.as_ref().map(segment_json),
        Some(segment_json(&after)),
    )?;
    Ok(after)
}

pub(crate) fn delete_segment(
    connection: &Connection,
    actor: Option<UserId>,
    id: SegmentId,
) -> Result<()> {
    let before = get_segment(connection, id)?;
    connection.execute("DELETE FROM segments WHERE id = ?1", [id.get()])?;
    audit(
        connection,
        actor,
        "segment",
        &id.to_string(),
        "delete",
        Some(segment_json(&before)),
        None,
    )
}

// --- write keys -------------------------------------------------------------

const WRITE_KEY_SELECT: &str = "SELECT id, name, created_at, revoked_at FROM write_keys";

fn write_key_from_row(row: &Row<'_>) -> rusqlite::Result<WriteKey> {
    Ok(WriteKey {
        id: row.get(0)?,
        name: parsed(row, 1, Name::parse)?,
        created_at: parsed(row, 2, row::timestamp)?,
        revoked_at: parsed_opt(row, 3, row::timestamp)?,
    })
}

pub(crate) fn create_write_key(
    connection: &Connection,
    name: Name,
    key_hash: String,
) -> Result<WriteKey> {
    connection.execute(
        "INSERT INTO write_keys (name, key_hash, created_at) VALUES (?1, ?2, ?3)",
        rusqlite::params![name.as_str(), key_hash, row::now()],
    )?;
    let id = connection.last_insert_rowid();
    Ok(connection
        .prepare_cached(&format!("{WRITE_KEY_SELECT} WHERE id = ?1"))?
        .query_row([id], write_key_from_row)?)
}

pub(crate) fn list_write_keys(connection: &Connection) -> Result<Vec<WriteKey>> {
    let rows: rusqlite::Result<Vec<WriteKey>> = connection
        .prepare_cached(&format!("{WRITE_KEY_SELECT} ORDER BY id DESC"))?
        .query_map([], write_key_from_row)?
        .collect();
    Ok(rows?)
}

pub(crate) fn revoke_write_key(connection: &Connection, id: i64) -> Result<()> {
    let changed = connection.execute(
        "UPDATE write_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
        rusqlite::params![row::now(), id],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            entity: "write key",
        });
    }
    Ok(())
}

pub(crate) fn find_write_key(connection: &Connection, key_hash: &str) -> Result<Option<WriteKey>> {
    Ok(connection
        .prepare_cached(&format!(
            "{WRITE_KEY_SELECT} WHERE key_hash = ?1 AND revoked_at IS NULL"
        ))?
        .query_row([key_hash], write_key_from_row)
        .optional()?)
}
