//! Success plans in SQLite: the plan's document as JSON with its summary columns, the
//! events of each change written in the same transaction, the objectives' progress and the
//! shared links (kept by the hash of their token).

use super::accounts;
use super::row::{self, parsed, parsed_opt};
use super::sql::Sql;
use super::sql::text;
use crate::db::Value;
use crate::plans::{
    NewShare, PlanEdit, PlanEventFilter, PlanEventRow, PlanFilter, ProgressRow, Share,
};
use crate::{Result, StoreError};
use mikawaya_domain::plan::{
    Author, ObjectiveStatus, PlanBody, PlanEvent, PlanEventKind, Progress, SuccessPlan,
};
use mikawaya_domain::{AccountId, ContactId, Invalid, PlanId, UserId, Visibility};
use rusqlite::{Connection, OptionalExtension, Row};

const PLAN_SELECT: &str = "SELECT p.id, p.account_id, p.body, p.version, p.created_at, p.updated_at \
     FROM success_plans p JOIN accounts a ON a.id = p.account_id WHERE 1=1";

fn plan_from_row(row: &Row<'_>) -> rusqlite::Result<SuccessPlan> {
    Ok(SuccessPlan {
        id: PlanId::new(row.get(0)?),
        account_id: AccountId::new(row.get(1)?),
        body: parsed(row, 2, |raw| {
            serde_json::from_str::<PlanBody>(raw)
                .map_err(|e| Invalid::new("body", format!("a stored plan does not read: {e}")))
        })?,
        version: row.get(3)?,
        created_at: parsed(row, 4, row::timestamp)?,
        updated_at: parsed(row, 5, row::timestamp)?,
    })
}

pub(crate) fn get_plan(
    connection: &Connection,
    visibility: Visibility,
    id: PlanId,
) -> Result<SuccessPlan> {
    let mut sql = Sql::new(PLAN_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND p.id = ?", [Value::Integer(id.get())]);
    connection
        .prepare_cached(&sql.text)?
        .query_row(sql.params(), plan_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { entity: "plan" })
}

pub(crate) fn list_plans(
    connection: &Connection,
    visibility: Visibility,
    filter: &PlanFilter,
) -> Result<Vec<SuccessPlan>> {
    let mut sql = Sql::new(PLAN_SELECT);
    sql.visible("a", visibility);
    if let Some(account) = filter.account_id {
        sql.bind(" AND p.account_id = ?", [Value::Integer(account.get())]);
    }
    if let Some(status) = filter.status {
        sql.bind(" AND p.status = ?", [text(status)]);
    }
    if let Some(owner) = filter.owner_id {
        sql.bind(" AND p.owner_id = ?", [Value::Integer(owner.get())]);
    }
    if filter.objective_off_track {
        sql.bind(" AND p.objectives_bad > 0", []);
    }
    if let Some(day) = filter.milestone_overdue_on {
        sql.bind(" AND p.next_due < ?", [text(day)]);
    }
    sql.bind(" ORDER BY p.account_id, p.id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let rows = statement.query_map(sql.params(), plan_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every person a plan names exists, and every contact is one of the plan's account (a
/// partner's plan names only the partner's users).
fn check_people(
    connection: &Connection,
    visibility: Visibility,
    account: AccountId,
    body: &PlanBody,
) -> Result<()> {
    let mut contacts: Vec<(ContactId, &str)> = Vec::new();
    let mut users: Vec<(UserId, &str)> = Vec::new();
    if let Some(owner) = body.owner_id {
        users.push((owner, "owner_id"));
    }
    if let Some(contact) = body.customer_owner_id {
        contacts.push((contact, "customer_owner_id"));
    }
    for personal in &body.personal {
        contacts.push((personal.contact_id, "contact_id"));
    }
    for entry in &body.raid {
        match entry.owner {
            Some(Author::User(user)) => users.push((user, "owner")),
            Some(Author::Contact(contact)) => contacts.push((contact, "owner")),
            None => {}
        }
    }
    for (contact, field) in contacts {
        let found: Option<i64> = connection
            .prepare_cached("SELECT account_id FROM contacts WHERE id = ?1")?
            .query_row([contact.get()], |row| row.get(0))
            .optional()?;
        if found != Some(account.get()) {
            return Err(
                Invalid::new(field, format!("no contact {contact} at this account")).into(),
            );
        }
    }
    for (user, field) in users {
        let found: Option<Option<i64>> = connection
            .prepare_cached("SELECT partner_id FROM users WHERE id = ?1")?
            .query_row([user.get()], |row| row.get(0))
            .optional()?;
        let visible = match (found, visibility) {
            (None, _) => false,
            (Some(_), Visibility::All) => true,
            (Some(partner), Visibility::Partner(mine)) => partner == Some(mine.get()),
        };
        if !visible {
            return Err(Invalid::new(field, format!("no user {user}")).into());
        }
    }
    Ok(())
}

fn author_columns(author: Option<Author>) -> (Option<&'static str>, Option<i64>) {
    match author {
        Some(Author::User(user)) => (Some("user"), Some(user.get())),
        Some(Author::Contact(contact)) => (Some("contact"), Some(contact.get())),
        None => (None, None),
    }
}

fn insert_events(
    connection: &Connection,
    plan: PlanId,
    account: AccountId,
    events: &[PlanEvent],
    author: Option<Author>,
    at: &str,
) -> Result<()> {
    let (kind, id) = author_columns(author);
    let mut statement = connection.prepare_cached(
        "INSERT INTO plan_events (plan_id, account_id, at, author_kind, author_id, kind, item, text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for event in events {
        statement.execute(rusqlite::params![
            plan.get(),
            account.get(),
            at,
            kind,
            id,
            event.kind.as_str(),
            event.item,
            event.text,
        ])?;
    }
    Ok(())
}

/// Keeps the summary columns in step with the body and the stored progress.
fn refresh_summary(connection: &Connection, plan: PlanId, body: &PlanBody) -> Result<()> {
    let measured: Vec<(u32, String)> = connection
        .prepare_cached("SELECT objective, status FROM plan_progress WHERE plan_id = ?1")?
        .query_map([plan.get()], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let bad = body.objectives_off_track(|objective| {
        measured
            .iter()
            .find(|(id, _)| *id == objective)
            .and_then(|(_, status)| ObjectiveStatus::parse(status).ok())
    });
    let next_due = body
        .milestones
        .iter()
        .filter(|m| m.closed_at.is_none())
        .map(|m| m.due_on)
        .min();
    connection
        .prepare_cached(
            "UPDATE success_plans SET objectives_bad = ?2, next_due = ?3, title = ?4, status = ?5, owner_id = ?6 \
             WHERE id = ?1",
        )?
        .execute(rusqlite::params![
            plan.get(),
            bad as i64,
            next_due.map(|d| d.to_string()),
            body.title.as_str(),
            body.status.as_str(),
            body.owner_id.map(UserId::get),
        ])?;
    Ok(())
}

fn body_json(body: &PlanBody) -> Result<String> {
    serde_json::to_string(body)
        .map_err(|e| StoreError::Corrupt(format!("a plan does not write: {e}")))
}

pub(crate) fn create_plan(
    connection: &Connection,
    visibility: Visibility,
    account: AccountId,
    edit: PlanEdit<'_>,
) -> Result<SuccessPlan> {
    let id = insert_plan(connection, visibility, account, edit)?;
    get_plan(connection, visibility, id)
}

/// Inserts a plan on a visible account with its events; returns its id.
pub(crate) fn insert_plan(
    connection: &Connection,
    visibility: Visibility,
    account: AccountId,
    edit: PlanEdit<'_>,
) -> Result<PlanId> {
    let PlanEdit {
        body,
        events,
        author,
        at,
    } = edit;
    accounts::get(connection, visibility, account)
        .map_err(|_| Invalid::new("account_id", format!("no account {account}")))?;
    check_people(connection, visibility, account, body)?;
    let now = row::instant(at);
    connection
        .prepare_cached(
            "INSERT INTO success_plans (account_id, title, status, owner_id, body, version, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
        )?
        .execute(rusqlite::params![
            account.get(),
            body.title.as_str(),
            body.status.as_str(),
            body.owner_id.map(UserId::get),
            body_json(body)?,
            now,
        ])?;
    let id = PlanId::new(connection.last_insert_rowid());
    refresh_summary(connection, id, body)?;
    insert_events(connection, id, account, events, author, &now)?;
    Ok(id)
}

pub(crate) fn save_plan(
    connection: &Connection,
    visibility: Visibility,
    id: PlanId,
    version: i64,
    edit: PlanEdit<'_>,
) -> Result<SuccessPlan> {
    let PlanEdit {
        body,
        events,
        author,
        at,
    } = edit;
    let stored = get_plan(connection, visibility, id)?;
    if stored.version != version {
        return Err(StoreError::Conflict {
            field: "version".into(),
            reason: format!(
                "the plan changed since version {version} (it is at version {}); reload it",
                stored.version
            ),
        });
    }
    check_people(connection, visibility, stored.account_id, body)?;
    let now = row::instant(at);
    connection
        .prepare_cached("UPDATE success_plans SET body = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1")?
        .execute(rusqlite::params![id.get(), body_json(body)?, now])?;
    // Progress of objectives no longer in the plan goes with them.
    let kept: Vec<u32> = body.objectives.iter().map(|o| o.id).collect();
    let stale: Vec<u32> = connection
        .prepare_cached("SELECT objective FROM plan_progress WHERE plan_id = ?1")?
        .query_map([id.get()], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<u32>>>()?
        .into_iter()
        .filter(|objective| !kept.contains(objective))
        .collect();
    for objective in stale {
        connection
            .prepare_cached("DELETE FROM plan_progress WHERE plan_id = ?1 AND objective = ?2")?
            .execute(rusqlite::params![id.get(), objective])?;
    }
    refresh_summary(connection, id, body)?;
    insert_events(connection, id, stored.account_id, events, author, &now)?;
    get_plan(connection, visibility, id)
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<PlanEventRow> {
    let kind: Option<String> = row.get(4)?;
    let author_id: Option<i64> = row.get(5)?;
    let author = match (kind.as_deref(), author_id) {
        (Some("user"), Some(id)) => Some(Author::User(UserId::new(id))),
        (Some("contact"), Some(id)) => Some(Author::Contact(ContactId::new(id))),
        _ => None,
    };
    Ok(PlanEventRow {
        id: row.get(0)?,
        plan_id: PlanId::new(row.get(1)?),
        account_id: AccountId::new(row.get(2)?),
        at: parsed(row, 3, row::timestamp)?,
        author,
        kind: parsed(row, 6, PlanEventKind::parse)?,
        item: row.get(7)?,
        text: row.get(8)?,
    })
}

pub(crate) fn plan_events(
    connection: &Connection,
    visibility: Visibility,
    filter: &PlanEventFilter,
) -> Result<Vec<PlanEventRow>> {
    let mut sql = Sql::new(
        "SELECT e.id, e.plan_id, e.account_id, e.at, e.author_kind, e.author_id, e.kind, e.item, e.text \
         FROM plan_events e JOIN accounts a ON a.id = e.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    if let Some(plan) = filter.plan_id {
        sql.bind(" AND e.plan_id = ?", [Value::Integer(plan.get())]);
    }
    if let Some(account) = filter.account_id {
        sql.bind(" AND e.account_id = ?", [Value::Integer(account.get())]);
    }
    if let Some(since) = filter.since {
        sql.bind(" AND e.at >= ?", [text(row::instant(since))]);
    }
    if filter.by_customer {
        sql.bind(" AND e.author_kind = 'contact'", []);
    }
    if !filter.kinds.is_empty() {
        let marks = vec!["?"; filter.kinds.len()].join(", ");
        sql.bind(
            &format!(" AND e.kind IN ({marks})"),
            filter.kinds.iter().map(|k| text(k.as_str())),
        );
    }
    sql.bind(" ORDER BY e.id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let rows = statement.query_map(sql.params(), event_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn progress_from_row(row: &Row<'_>) -> rusqlite::Result<ProgressRow> {
    Ok(ProgressRow {
        plan_id: PlanId::new(row.get(0)?),
        objective: row.get(1)?,
        progress: Progress {
            day: parsed(row, 2, row::date)?,
            baseline: row.get(3)?,
            value: row.get(4)?,
            expected: row.get(5)?,
            actual: row.get(6)?,
            status: parsed(row, 7, ObjectiveStatus::parse)?,
            achieved_on: parsed_opt(row, 8, row::date)?,
        },
    })
}

const PROGRESS_SELECT: &str = "SELECT g.plan_id, g.objective, g.day, g.baseline, g.value, g.expected, g.actual, g.status, g.achieved_on \
     FROM plan_progress g JOIN success_plans p ON p.id = g.plan_id JOIN accounts a ON a.id = p.account_id WHERE 1=1";

pub(crate) fn plan_progress(
    connection: &Connection,
    visibility: Visibility,
    plan: Option<PlanId>,
) -> Result<Vec<ProgressRow>> {
    let mut sql = Sql::new(PROGRESS_SELECT);
    sql.visible("a", visibility);
    if let Some(plan) = plan {
        sql.bind(" AND g.plan_id = ?", [Value::Integer(plan.get())]);
    }
    sql.bind(" ORDER BY g.plan_id, g.objective", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let rows = statement.query_map(sql.params(), progress_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Writes the day's progress; an objective whose status changed gets an event from
/// Mikawaya, and the plans' summaries follow. Returns how many statuses changed.
pub(crate) fn put_plan_progress(
    connection: &Connection,
    rows: &[ProgressRow],
    events: &[(PlanId, PlanEvent)],
    at: jiff::Timestamp,
) -> Result<usize> {
    let now = row::instant(at);
    for (plan, event) in events {
        let account: i64 = connection
            .prepare_cached("SELECT account_id FROM success_plans WHERE id = ?1")?
            .query_row([plan.get()], |r| r.get(0))?;
        insert_events(
            connection,
            *plan,
            AccountId::new(account),
            std::slice::from_ref(event),
            None,
            &now,
        )?;
    }
    let mut changed = 0;
    let mut touched: Vec<PlanId> = Vec::new();
    for row in rows {
        let before: Option<String> = connection
            .prepare_cached(
                "SELECT status FROM plan_progress WHERE plan_id = ?1 AND objective = ?2",
            )?
            .query_row(rusqlite::params![row.plan_id.get(), row.objective], |r| {
                r.get(0)
            })
            .optional()?;
        let p = &row.progress;
        connection
            .prepare_cached(
                "INSERT INTO plan_progress (plan_id, objective, day, baseline, value, expected, actual, status, achieved_on) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (plan_id, objective) DO UPDATE SET day = excluded.day, baseline = excluded.baseline, \
                 value = excluded.value, expected = excluded.expected, actual = excluded.actual, \
                 status = excluded.status, achieved_on = excluded.achieved_on",
            )?
            .execute(rusqlite::params![
                row.plan_id.get(),
                row.objective,
                p.day.to_string(),
                p.baseline,
                p.value,
                p.expected,
                p.actual,
                p.status.as_str(),
                p.achieved_on.map(|d| d.to_string()),
            ])?;
        if before.as_deref() != Some(p.status.as_str()) {
            changed += 1;
            let account: i64 = connection
                .prepare_cached("SELECT account_id FROM success_plans WHERE id = ?1")?
                .query_row([row.plan_id.get()], |r| r.get(0))?;
            let event = PlanEvent {
                kind: PlanEventKind::ObjectiveStatus,
                item: Some(row.objective),
                text: p.status.as_str().to_owned(),
            };
            insert_events(
                connection,
                row.plan_id,
                AccountId::new(account),
                &[event],
                None,
                &now,
            )?;
            if !touched.contains(&row.plan_id) {
                touched.push(row.plan_id);
            }
        }
    }
    for plan in touched {
        let stored = get_plan(connection, Visibility::All, plan)?;
        refresh_summary(connection, plan, &stored.body)?;
    }
    Ok(changed)
}

fn share_from_row(row: &Row<'_>) -> rusqlite::Result<Share> {
    Ok(Share {
        id: row.get(0)?,
        plan_id: PlanId::new(row.get(1)?),
        contact_id: ContactId::new(row.get(2)?),
        created_by: row.get::<_, Option<i64>>(3)?.map(UserId::new),
        created_at: parsed(row, 4, row::timestamp)?,
        expires_at: parsed(row, 5, row::timestamp)?,
        revoked_at: parsed_opt(row, 6, row::timestamp)?,
        last_opened_at: parsed_opt(row, 7, row::timestamp)?,
    })
}

const SHARE_COLUMNS: &str = "s.id, s.plan_id, s.contact_id, s.created_by, s.created_at, s.expires_at, s.revoked_at, s.last_opened_at";

pub(crate) fn create_share(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    share: &NewShare,
) -> Result<Share> {
    let plan = get_plan(connection, visibility, share.plan_id)?;
    let contact: Option<i64> = connection
        .prepare_cached("SELECT account_id FROM contacts WHERE id = ?1")?
        .query_row([share.contact_id.get()], |row| row.get(0))
        .optional()?;
    if contact != Some(plan.account_id.get()) {
        return Err(Invalid::new(
            "contact_id",
            format!("no contact {} at this account", share.contact_id),
        )
        .into());
    }
    let now = row::now();
    connection
        .prepare_cached(
            "INSERT INTO plan_shares (plan_id, contact_id, token_hash, created_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            share.plan_id.get(),
            share.contact_id.get(),
            share.token_hash,
            by.map(UserId::get),
            now,
            row::instant(share.expires_at),
        ])?;
    let id = connection.last_insert_rowid();
    let event = PlanEvent {
        kind: PlanEventKind::Shared,
        item: None,
        text: share.contact_id.to_string(),
    };
    insert_events(
        connection,
        plan.id,
        plan.account_id,
        &[event],
        by.map(Author::User),
        &now,
    )?;
    connection
        .prepare_cached(&format!(
            "SELECT {SHARE_COLUMNS} FROM plan_shares s WHERE s.id = ?1"
        ))?
        .query_row([id], share_from_row)
        .map_err(Into::into)
}

pub(crate) fn plan_shares(
    connection: &Connection,
    visibility: Visibility,
    plan: PlanId,
) -> Result<Vec<Share>> {
    get_plan(connection, visibility, plan)?;
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SHARE_COLUMNS} FROM plan_shares s WHERE s.plan_id = ?1 ORDER BY s.id"
    ))?;
    let rows = statement.query_map([plan.get()], share_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn revoke_share(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    plan: PlanId,
    share: i64,
) -> Result<()> {
    let found = get_plan(connection, visibility, plan)?;
    let now = row::now();
    let revoked = connection
        .prepare_cached(
            "UPDATE plan_shares SET revoked_at = ?3 WHERE id = ?1 AND plan_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(rusqlite::params![share, plan.get(), now])?;
    if revoked == 0 {
        return Err(StoreError::NotFound { entity: "share" });
    }
    let event = PlanEvent {
        kind: PlanEventKind::ShareRevoked,
        item: None,
        text: share.to_string(),
    };
    insert_events(
        connection,
        plan,
        found.account_id,
        &[event],
        by.map(Author::User),
        &now,
    )
}

pub(crate) fn open_share(
    connection: &Connection,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<Share>> {
    let at = row::instant(now);
    let found = connection
        .prepare_cached(&format!(
            "SELECT {SHARE_COLUMNS} FROM plan_shares s JOIN success_plans p ON p.id = s.plan_id \
             WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2"
        ))?
        .query_row(rusqlite::params![token_hash, at], share_from_row)
        .optional()?;
    if let Some(share) = &found {
        connection
            .prepare_cached("UPDATE plan_shares SET last_opened_at = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![share.id, at])?;
    }
    Ok(found)
}
