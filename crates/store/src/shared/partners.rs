//! Partners (代理店), for both engines: listed, upserted by external id and deleted, each
//! change in the audit trail.

use super::audit::audit;
use crate::db::{Db, Row};
use crate::shared::row;
use crate::{Result, StoreError};
use mikawaya_domain::partner::{NewPartner, Partner};
use mikawaya_domain::value::{ExternalId, Name};
use mikawaya_domain::{PartnerId, UserId, Visibility};

const PARTNER_SELECT: &str = "SELECT id, external_id, name, created_at FROM partners";

fn partner_from_row(row: &Row<'_>) -> Result<Partner> {
    Ok(Partner {
        id: PartnerId::new(row.get(0)?),
        external_id: row.parsed_opt(1, ExternalId::parse)?,
        name: row.parsed(2, Name::parse)?,
        created_at: row.parsed(3, row::timestamp)?,
    })
}

fn partner_json(partner: &Partner) -> serde_json::Value {
    serde_json::json!({
        "external_id": partner.external_id.as_ref().map(ToString::to_string),
        "name": partner.name.as_str(),
    })
}

pub(crate) fn list_partners(db: &Db<'_>, visibility: Visibility) -> Result<Vec<Partner>> {
    match visibility {
        Visibility::All => db.query_map(
            &format!("{PARTNER_SELECT} ORDER BY name, id"),
            &[],
            partner_from_row,
        ),
        Visibility::Partner(own) => db.query_map(
            &format!("{PARTNER_SELECT} WHERE id = ?1"),
            &[own.get().into()],
            partner_from_row,
        ),
    }
}

pub(crate) fn get_partner(db: &Db<'_>, visibility: Visibility, id: PartnerId) -> Result<Partner> {
    if matches!(visibility, Visibility::Partner(own) if own != id) {
        return Err(StoreError::NotFound { entity: "partner" });
    }
    db.query_opt(
        &format!("{PARTNER_SELECT} WHERE id = ?1"),
        &[id.get().into()],
        partner_from_row,
    )?
    .ok_or(StoreError::NotFound { entity: "partner" })
}

pub(crate) fn find_partner_by_external_id(
    db: &Db<'_>,
    external_id: &ExternalId,
) -> Result<Option<Partner>> {
    db.query_opt(
        &format!("{PARTNER_SELECT} WHERE external_id = ?1"),
        &[external_id.as_str().into()],
        partner_from_row,
    )
}

pub(crate) fn upsert_partner(
    db: &Db<'_>,
    actor: Option<UserId>,
    new: NewPartner,
) -> Result<Partner> {
    if let Some(external_id) = &new.external_id
        && let Some(existing) = find_partner_by_external_id(db, external_id)?
    {
        db.execute(
            "UPDATE partners SET name = ?1 WHERE id = ?2",
            &[new.name.as_str().into(), existing.id.get().into()],
        )?;
        let after = get_partner(db, Visibility::All, existing.id)?;
        if after != existing {
            audit(
                db,
                actor,
                "partner",
                &existing.id.to_string(),
                "update",
                Some(partner_json(&existing)),
                Some(partner_json(&after)),
            )?;
        }
        return Ok(after);
    }
    let id: i64 = db.query_one(
        "INSERT INTO partners (external_id, name, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        &[
            new.external_id.as_ref().map(ToString::to_string).into(),
            new.name.as_str().into(),
            row::now().into(),
        ],
        |row| row.get(0),
    )?;
    let created = get_partner(db, Visibility::All, PartnerId::new(id))?;
    audit(
        db,
        actor,
        "partner",
        &created.id.to_string(),
        "create",
        None,
        Some(partner_json(&created)),
    )?;
    Ok(created)
}

pub(crate) fn delete_partner(db: &Db<'_>, actor: Option<UserId>, id: PartnerId) -> Result<()> {
    let before = get_partner(db, Visibility::All, id)?;
    db.execute("DELETE FROM partners WHERE id = ?1", &[id.get().into()])
        .map_err(|error| {
            if error.is_reference_violation() {
                StoreError::Conflict {
                    field: "id".into(),
                    reason: "the partner still owns accounts or has users".into(),
                }
            } else {
                error
            }
        })?;
    audit(
        db,
        actor,
        "partner",
        &id.to_string(),
        "delete",
        Some(partner_json(&before)),
        None,
    )
}
