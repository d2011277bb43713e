//! The audit trail: who changed what, when, before and after (every change to customer
//! data and configuration, by a person, a person's token, or the system), for admins in
//! the API, on the settings page, and as CSV.

use crate::Result;
use mikawaya_domain::ReadAccess;
use mikawaya_domain::access::AdminAccess;
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
