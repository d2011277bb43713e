//! The CS team and its configuration, for both engines: people (created, changed,
//! deactivated), custom field definitions, segments and write keys, each change of people,
//! fields and segments in the audit trail.

use super::audit::audit;
use super::auth::get_user;
use super::partners::get_partner;
use crate::db::{Db, Row};
use crate::shared::row;
use crate::{Result, StoreError, WriteKey};
use mikawaya_domain::access::Role;
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::patch::Patch;
use mikawaya_domain::segment::{NewSegment, Segment};
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::{Name, Slug, Text};
use mikawaya_domain::{Invalid, PartnerId, SegmentId, UserId, Visibility};

// --- people -----------------------------------------------------------------

/// Refuses a reference to a user the caller cannot see, in the words of a missing one
/// (a partner learns nothing of the team's users from an id it tries): `field` is named.
pub(crate) fn check_user_reference(
    db: &Db<'_>,
    visibility: Visibility,
    id: UserId,
    field: &str,
) -> Result<()> {
    match get_user(db, visibility, id) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            Err(Invalid::new(field, format!("no user has id {id}")).into())
        }
        Err(other) => Err(other),
    }
}

fn user_json(user: &User) -> serde_json::Value {
    serde_json::json!({
        "email": user.email.as_str(),
        "name": user.name.as_str(),
        "role": user.role.as_str(),
        "partner_id": user.partner_id.map(PartnerId::get),
        "active": user.deactivated_at.is_none(),
    })
}

pub(crate) fn create_user(
    db: &Db<'_>,
    actor: Option<UserId>,
    new: NewUser,
    password_hash: Option<String>,
) -> Result<User> {
    if let Some(partner_id) = new.partner_id() {
        get_partner(db, Visibility::All, partner_id)
            .map_err(|_| Invalid::new("partner_id", format!("no partner {partner_id}")))?;
    }
    let id: i64 = db
        .query_one(
            "INSERT INTO users (email, name, role, partner_id, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            &[
                new.email().as_str().into(),
                new.name().as_str().into(),
                new.role().as_str().into(),
                new.partner_id().map(PartnerId::get).into(),
                password_hash.into(),
                row::now().into(),
            ],
            |row| row.get(0),
        )
        .map_err(|error| {
            if error.is_unique_violation() {
                StoreError::Conflict {
                    field: "email".into(),
                    reason: "a user with this email exists".into(),
                }
            } else {
                error
            }
        })?;
    let created = get_user(db, Visibility::All, UserId::new(id))?;
    audit(
        db,
        actor,
        "user",
        &created.id.to_string(),
        "create",
        None,
        Some(user_json(&created)),
    )?;
    Ok(created)
}

/// Sets one of a user's own columns (`password_hash`, `locale`).
pub(crate) fn set_user_column(
    db: &Db<'_>,
    id: UserId,
    column: &str,
    value: Option<String>,
) -> Result<()> {
    let changed = db.execute(
        &format!("UPDATE users SET {column} = ?1 WHERE id = ?2"),
        &[value.into(), id.get().into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "user" });
    }
    Ok(())
}

pub(crate) fn delete_user(db: &Db<'_>, actor: Option<UserId>, id: UserId) -> Result<()> {
    let before = get_user(db, Visibility::All, id)?;
    db.execute("DELETE FROM users WHERE id = ?1", &[id.get().into()])?;
    audit(
        db,
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
    db: &Db<'_>,
    actor: Option<UserId>,
    id: UserId,
    change: UserChange,
) -> Result<User> {
    let before = get_user(db, Visibility::All, id)?;
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
        get_partner(db, Visibility::All, partner)
            .map_err(|_| Invalid::new("partner_id", format!("no partner {partner}")))?;
    }
    db.execute(
        "UPDATE users SET name = ?1, role = ?2, partner_id = ?3 WHERE id = ?4",
        &[
            checked.name().as_str().into(),
            checked.role().as_str().into(),
            checked.partner_id().map(PartnerId::get).into(),
            id.get().into(),
        ],
    )?;
    let after = get_user(db, Visibility::All, id)?;
    if after != before {
        // A changed role or partner changes what the person may see: log them out.
        db.execute(
            "DELETE FROM sessions WHERE user_id = ?1",
            &[id.get().into()],
        )?;
        audit(
            db,
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
    db: &Db<'_>,
    actor: Option<UserId>,
    id: UserId,
    active: bool,
) -> Result<User> {
    let before = get_user(db, Visibility::All, id)?;
    if before.deactivated_at.is_none() == active {
        return Ok(before);
    }
    if !active && actor == Some(id) {
        return Err(Invalid::new("id", "you cannot deactivate yourself").into());
    }
    let now = row::now();
    db.execute(
        "UPDATE users SET deactivated_at = ?1 WHERE id = ?2",
        &[(!active).then(|| now.clone()).into(), id.get().into()],
    )?;
    if !active {
        db.execute(
            "DELETE FROM sessions WHERE user_id = ?1",
            &[id.get().into()],
        )?;
        db.execute(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
            &[(&now).into(), id.get().into()],
        )?;
    }
    let after = get_user(db, Visibility::All, id)?;
    let action = if active { "activate" } else { "deactivate" };
    audit(
        db,
        actor,
        "user",
        &id.to_string(),
        action,
        Some(user_json(&before)),
        Some(user_json(&after)),
    )?;
    Ok(after)
}

// --- custom fields ----------------------------------------------------------

fn field_json(definition: &CustomFieldDef) -> serde_json::Value {
    serde_json::json!({
        "label": definition.label().as_str(),
        "kind": definition.kind().as_str(),
        "options": definition.options(),
    })
}

pub(crate) fn custom_fields(db: &Db<'_>) -> Result<Vec<CustomFieldDef>> {
    db.query_map(
        "SELECT key, label, kind, options FROM custom_fields ORDER BY key",
        &[],
        |row| {
            let options: Vec<String> = row.parsed(3, row::json)?;
            let key = row.parsed(0, Slug::parse)?;
            let label = row.parsed(1, Name::parse)?;
            let kind = row.parsed(2, CustomFieldKind::parse)?;
            CustomFieldDef::new(key, label, kind, options)
                .map_err(|e| StoreError::Corrupt(format!("custom field: {e}")))
        },
    )
}

pub(crate) fn put_custom_field(
    db: &Db<'_>,
    actor: Option<UserId>,
    definition: &CustomFieldDef,
) -> Result<()> {
    let before = custom_fields(db)?
        .into_iter()
        .find(|d| d.key() == definition.key());
    db.execute(
        "INSERT INTO custom_fields (key, label, kind, options) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (key) DO UPDATE SET label = excluded.label, kind = excluded.kind, options = excluded.options",
        &[
            definition.key().as_str().into(),
            definition.label().as_str().into(),
            definition.kind().as_str().into(),
            serde_json::to_string(definition.options())
                .unwrap_or_else(|_| "[]".into())
                .into(),
        ],
    )?;
    match before {
        Some(before) if before == *definition => Ok(()),
        Some(before) => audit(
            db,
            actor,
            "custom_field",
            definition.key().as_str(),
            "update",
            Some(field_json(&before)),
            Some(field_json(definition)),
        ),
        None => audit(
            db,
            actor,
            "custom_field",
            definition.key().as_str(),
            "create",
            None,
            Some(field_json(definition)),
        ),
    }
}

pub(crate) fn delete_custom_field(db: &Db<'_>, actor: Option<UserId>, key: &str) -> Result<()> {
    let before = custom_fields(db)?
        .into_iter()
        .find(|d| d.key().as_str() == key)
        .ok_or(StoreError::NotFound {
            entity: "custom field",
        })?;
    db.execute("DELETE FROM custom_fields WHERE key = ?1", &[(&key).into()])?;
    audit(
        db,
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

fn segment_from_row(row: &Row<'_>) -> Result<Segment> {
    Ok(Segment {
        id: SegmentId::new(row.get(0)?),
        name: row.parsed(1, Name::parse)?,
        description: row.parsed_opt(2, Text::parse)?,
        filter: row.parsed(3, row::json)?,
        created_at: row.parsed(4, row::timestamp)?,
        updated_at: row.parsed(5, row::timestamp)?,
    })
}

fn segment_json(segment: &Segment) -> serde_json::Value {
    serde_json::json!({
        "name": segment.name.as_str(),
        "description": segment.description.as_ref().map(ToString::to_string),
        "filter": serde_json::to_value(&segment.filter).unwrap_or_default(),
    })
}

pub(crate) fn list_segments(db: &Db<'_>) -> Result<Vec<Segment>> {
    db.query_map(
        &format!("{SEGMENT_SELECT} ORDER BY name"),
        &[],
        segment_from_row,
    )
}

pub(crate) fn get_segment(db: &Db<'_>, id: SegmentId) -> Result<Segment> {
    db.query_opt(
        &format!("{SEGMENT_SELECT} WHERE id = ?1"),
        &[id.get().into()],
        segment_from_row,
    )?
    .ok_or(StoreError::NotFound { entity: "segment" })
}

pub(crate) fn save_segment(
    db: &Db<'_>,
    actor: Option<UserId>,
    id: Option<SegmentId>,
    segment: NewSegment,
) -> Result<Segment> {
    let before = id.map(|id| get_segment(db, id)).transpose()?;
    let filter =
        serde_json::to_string(&segment.filter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = row::now();
    let description = segment.description.as_ref().map(ToString::to_string);
    let saved = match id {
        None => db.query_one(
            "INSERT INTO segments (name, description, filter, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
            &[
                segment.name.as_str().into(),
                description.into(),
                filter.into(),
                (&now).into(),
            ],
            |row| row.get::<i64>(0),
        ),
        Some(id) => db
            .execute(
                "UPDATE segments SET name = ?1, description = ?2, filter = ?3, updated_at \
                     = ?4 WHERE id = ?5",
                &[
                    segment.name.as_str().into(),
                    description.into(),
                    filter.into(),
                    (&now).into(),
                    id.get().into(),
                ],
            )
            .map(|_| id.get()),
    };
    let saved = saved.map_err(|error| {
        if error.is_unique_violation() {
            StoreError::Conflict {
                field: "name".into(),
                reason: "a segment with this name exists".into(),
            }
        } else {
            error
        }
    })?;
    let after = get_segment(db, SegmentId::new(saved))?;
    let action = if before.is_some() { "update" } else { "create" };
    audit(
        db,
        actor,
        "segment",
        &after.id.to_string(),
        action,
        before.as_ref().map(segment_json),
        Some(segment_json(&after)),
    )?;
    Ok(after)
}

pub(crate) fn delete_segment(db: &Db<'_>, actor: Option<UserId>, id: SegmentId) -> Result<()> {
    let before = get_segment(db, id)?;
    db.execute("DELETE FROM segments WHERE id = ?1", &[id.get().into()])?;
    audit(
        db,
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

fn write_key_from_row(row: &Row<'_>) -> Result<WriteKey> {
    Ok(WriteKey {
        id: row.get(0)?,
        name: row.parsed(1, Name::parse)?,
        created_at: row.parsed(2, row::timestamp)?,
        revoked_at: row.parsed_opt(3, row::timestamp)?,
    })
}

pub(crate) fn create_write_key(db: &Db<'_>, name: Name, key_hash: String) -> Result<WriteKey> {
    let id: i64 = db.query_one(
        "INSERT INTO write_keys (name, key_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        &[name.as_str().into(), key_hash.into(), row::now().into()],
        |row| row.get(0),
    )?;
    db.query_one(
        &format!("{WRITE_KEY_SELECT} WHERE id = ?1"),
        &[id.into()],
        write_key_from_row,
    )
}

pub(crate) fn list_write_keys(db: &Db<'_>) -> Result<Vec<WriteKey>> {
    db.query_map(
        &format!("{WRITE_KEY_SELECT} ORDER BY id DESC"),
        &[],
        write_key_from_row,
    )
}

pub(crate) fn revoke_write_key(db: &Db<'_>, id: i64) -> Result<()> {
    let changed = db.execute(
        "UPDATE write_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
        &[row::now().into(), id.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            entity: "write key",
        });
    }
    Ok(())
}

pub(crate) fn find_write_key(db: &Db<'_>, key_hash: &str) -> Result<Option<WriteKey>> {
    db.query_opt(
        &format!("{WRITE_KEY_SELECT} WHERE key_hash = ?1 AND revoked_at IS NULL"),
        &[key_hash.into()],
        write_key_from_row,
    )
}
