//! The audit trail: who changed what, when, before and after (every change to customer
//! data and configuration, by a person, a person's token, or the system), for admins in
//! the API, on the settings page, and as CSV.

use crate::Result;
use mikawaya_domain::access::AdminAccess;
use mikawaya_domain::{Invalid, ReadAccess, UserId};
use mikawaya_store::{AuditEntry, AuditFilter, Store};
use std::collections::HashMap;

/// An entry with its author's email (none: the system).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// The entry.
    pub entry: AuditEntry,
    /// The author's login email; none for the system (or a user since deleted).
    pub actor_email: Option<String>,
}

/// A request for entries as people write it (the API's parameters, the page's form):
/// blank values mean no filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query<'q> {
    /// One kind of object.
    pub object: Option<&'q str>,
    /// One object's id.
    pub key: Option<&'q str>,
    /// A user id, or `system`.
    pub actor: Option<&'q str>,
    /// At or after (RFC 3339 or YYYY-MM-DD, UTC).
    pub from: Option<&'q str>,
    /// Before.
    pub to: Option<&'q str>,
    /// The id of the last entry of the page before.
    pub cursor: Option<&'q str>,
}

impl Query<'_> {
    /// The store's filter, at most `limit` entries (each bad value named by its field).
    pub fn filter(&self, limit: u32) -> std::result::Result<AuditFilter, Invalid> {
        let given = |value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let instant = |raw: Option<String>, field: &str| {
            raw.map(|raw| mikawaya_domain::value::parse_timestamp(&raw, field))
                .transpose()
        };
        let actor = given(self.actor);
        let actor_id = match actor.as_deref() {
            None | Some("system") => None,
            Some(raw) => Some(UserId::new(raw.parse().map_err(|_| {
                Invalid::new("actor", format!("'{raw}' is not a user id or 'system'"))
            })?)),
        };
        let before_id = given(self.cursor)
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| Invalid::new("cursor", "is not a cursor this list gave"))
            })
            .transpose()?;
        Ok(AuditFilter {
            object: given(self.object),
            object_key: given(self.key),
            system_only: actor.as_deref() == Some("system"),
            actor_id,
            from: instant(given(self.from), "from")?,
            to: instant(given(self.to), "to")?,
            before_id,
            limit,
        })
    }
}

/// The entries a filter asks for, newest first, with their authors.
pub fn read(
    store: &dyn Store,
    access: &AdminAccess,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>> {
    let entries = store.audit_log(access, filter)?;
    let read: ReadAccess = access.manage().write().read();
    let emails: HashMap<_, _> = store
        .list_users(&read)?
        .into_iter()
        .map(|user| (user.id, user.email.to_string()))
        .collect();
    Ok(entries
        .into_iter()
        .map(|entry| AuditRow {
            actor_email: entry.actor_id.and_then(|id| emails.get(&id).cloned()),
            entry,
        })
        .collect())
}

/// The rows as CSV: at, actor, object, object_key, action, before, after.
pub fn csv(rows: &[AuditRow]) -> String {
    let mut out = String::from("at,actor,object,object_key,action,before,after\n");
    for row in rows {
        let entry = &row.entry;
        let cells = [
            entry.at.to_string(),
            row.actor_email
                .clone()
                .unwrap_or_else(|| "system".to_owned()),
            entry.object.clone(),
            entry.object_key.clone(),
            entry.action.clone(),
            entry.before.clone().unwrap_or_default(),
            entry.after.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| crate::csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
