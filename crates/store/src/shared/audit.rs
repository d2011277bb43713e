//! The audit trail's rows written by the store itself (people, partners, segments, custom
//! fields; the rest by triggers), and the trail read back, for both engines.

use crate::db::{Db, Value};
use crate::shared::row;
use crate::{AuditEntry, AuditFilter, Result};
use mikawaya_domain::UserId;

/// Records a change with who made it (none: the system), in the change's transaction.
pub(crate) fn audit(
    db: &Db<'_>,
    actor: Option<UserId>,
    object: &str,
    key: &str,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    db.execute(
        "INSERT INTO audit_log (at, actor_id, object, object_key, action, before, after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            row::now().into(),
            actor.map(UserId::get).into(),
            object.into(),
            (&key).into(),
            action.into(),
            before.map(|v| v.to_string()).into(),
            after.map(|v| v.to_string()).into(),
        ],
    )?;
    Ok(())
}

/// The changes a filter asks for, newest first.
pub(crate) fn audit_log(db: &Db<'_>, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut sql = String::from(
        "SELECT id, at, actor_id, object, object_key, action, before, after FROM \
             audit_log WHERE 1 = 1",
    );
    if filter.system_only {
        sql.push_str(" AND actor_id IS NULL");
    }
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |clause: &str, value: Value| {
        values.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(object) = &filter.object {
        bind(" AND object = ?", object.clone().into());
    }
    if let Some(key) = &filter.object_key {
        bind(" AND object_key = ?", key.clone().into());
    }
    if let Some(actor) = filter.actor_id {
        bind(" AND actor_id = ?", actor.get().into());
    }
    if let Some(from) = filter.from {
        bind(" AND at >= ?", row::instant(from).into());
    }
    if let Some(to) = filter.to {
        bind(" AND at < ?", row::instant(to).into());
    }
    if let Some(before) = filter.before_id {
        bind(" AND id < ?", before.into());
    }
    bind(" ORDER BY id DESC LIMIT ?", i64::from(filter.limit).into());
    db.query_map(&sql, &values, |row| {
        Ok(AuditEntry {
            id: row.get(0)?,
            at: row.parsed(1, row::timestamp)?,
            actor_id: row.get::<Option<i64>>(2)?.map(UserId::new),
            object: row.get(3)?,
            object_key: row.get(4)?,
            action: row.get(5)?,
            before: row.get(6)?,
            after: row.get(7)?,
        })
    })
}
