//! Success plans in SQLite: the plan's document as JSON with its summary columns, the
//! events of each change written in the same transaction, the objectives' progress and the
//! shared links (kept by the hash of their token).

use super::accounts;
use super::row;
use super::sql::Sql;
use super::sql::text;
use crate::db::Value;
use crate::db::{Db, Row};
use crate::plans::{
    NewShare, PlanEdit, PlanEventFilter, PlanEventRow, PlanFilter, ProgressRow, Share,
};
use crate::{Result, StoreError};
use mikawaya_domain::plan::{
    Author, ObjectiveStatus, PlanBody, PlanEvent, PlanEventKind, Progress, SuccessPlan,
};
use mikawaya_domain::{AccountId, ContactId, Invalid, PlanId, UserId, Visibility};

const PLAN_SELECT: &str = "SELECT p.id, p.account_id, p.body, p.version, p.created_at, p.updated_at \
     FROM success_plans p JOIN accounts a ON a.id = p.account_id WHERE 1=1";

fn plan_from_row(row: &Row<'_>) -> Result<SuccessPlan> {
    Ok(SuccessPlan {
        id: PlanId::new(row.get(0)?),
        account_id: AccountId::new(row.get(1)?),
        body: row.parsed(2, |raw| {
            serde_json::from_str::<PlanBody>(raw)
                .map_err(|e| Invalid::new("body", format!("a stored plan does not read: {e}")))
        })?,
        version: row.get(3)?,
        created_at: row.parsed(4, row::timestamp)?,
        updated_at: row.parsed(5, row::timestamp)?,
    })
}

pub(crate) fn get_plan(db: &Db<'_>, visibility: Visibility, id: PlanId) -> Result<SuccessPlan> {
    let mut sql = Sql::new(PLAN_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND p.id = ?", [Value::Integer(id.get())]);
    db.query_opt(&sql.text, &sql.params, plan_from_row)?
        .ok_or(StoreError::NotFound { entity: "plan" })
}

pub(crate) fn list_plans(
    db: &Db<'_>,
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
    let statement = &sql.text;
    db.query_map(statement, &sql.params, plan_from_row)
}

/// Every person a plan names exists, and every contact is one of the plan's account (a
/// partner's plan names only the partner's users).
fn check_people(
    db: &Db<'_>,
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
        let found: Option<i64> = db.query_opt(
            "SELECT account_id FROM contacts WHERE id = ?1",
            &[contact.get().into()],
            |row| row.get(0),
        )?;
        if found != Some(account.get()) {
            return Err(
                Invalid::new(field, format!("no contact {contact} at this account")).into(),
            );
        }
    }
    for (user, field) in users {
        let found: Option<Option<i64>> = db.query_opt(
            "SELECT partner_id FROM users WHERE id = ?1",
            &[user.get().into()],
            |row| row.get(0),
        )?;
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
    db: &Db<'_>,
    plan: PlanId,
    account: AccountId,
    events: &[PlanEvent],
    author: Option<Author>,
    at: &str,
) -> Result<()> {
    let (kind, id) = author_columns(author);
    let statement = "INSERT INTO plan_events (plan_id, account_id, at, author_kind, author_id, kind, item, text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    for event in events {
        db.execute(
            statement,
            &[
                plan.get().into(),
                account.get().into(),
                (&at).into(),
                kind.into(),
                id.into(),
                event.kind.as_str().into(),
                event.item.into(),
                (&event.text).into(),
            ],
        )?;
    }
    Ok(())
}

/// Keeps the summary columns in step with the body and the stored progress.
fn refresh_summary(db: &Db<'_>, plan: PlanId, body: &PlanBody) -> Result<()> {
    let measured: Vec<(u32, String)> = db.query_map(
        "SELECT objective, status FROM plan_progress WHERE plan_id = ?1",
        &[plan.get().into()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
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
    db.execute("UPDATE success_plans SET objectives_bad = ?2, next_due = ?3, title = ?4, status = ?5, owner_id = ?6 \
             WHERE id = ?1", &[plan.get().into(), (bad as i64).into(), next_due.map(|d| d.to_string()).into(), body.title.as_str().into(), body.status.as_str().into(), body.owner_id.map(UserId::get).into()])?;
    Ok(())
}

fn body_json(body: &PlanBody) -> Result<String> {
    serde_json::to_string(body)
        .map_err(|e| StoreError::Corrupt(format!("a plan does not write: {e}")))
}

pub(crate) fn create_plan(
    db: &Db<'_>,
    visibility: Visibility,
    account: AccountId,
    edit: PlanEdit<'_>,
) -> Result<SuccessPlan> {
    let id = insert_plan(db, visibility, account, edit)?;
    get_plan(db, visibility, id)
}

/// Inserts a plan on a visible account with its events; returns its id.
pub(crate) fn insert_plan(
    db: &Db<'_>,
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
    accounts::get(db, visibility, account)
        .map_err(|_| Invalid::new("account_id", format!("no account {account}")))?;
    check_people(db, visibility, account, body)?;
    let now = row::instant(at);
    let id = PlanId::new(db.query_one("INSERT INTO success_plans (account_id, title, status, owner_id, body, version, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6) RETURNING id", &[account.get().into(), body.title.as_str().into(), body.status.as_str().into(), body.owner_id.map(UserId::get).into(), (body_json(body)?).into(), (&now).into()], |row| row.get(0))?);
    refresh_summary(db, id, body)?;
    insert_events(db, id, account, events, author, &now)?;
    Ok(id)
}

pub(crate) fn save_plan(
    db: &Db<'_>,
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
    let stored = get_plan(db, visibility, id)?;
    if stored.version != version {
        return Err(StoreError::Conflict {
            field: "version".into(),
            reason: format!(
                "the plan changed since version {version} (it is at version {}); reload it",
                stored.version
            ),
        });
    }
    check_people(db, visibility, stored.account_id, body)?;
    let now = row::instant(at);
    db.execute(
        "UPDATE success_plans SET body = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1",
        &[id.get().into(), (body_json(body)?).into(), (&now).into()],
    )?;
    // Progress of objectives no longer in the plan goes with them.
    let kept: Vec<u32> = body.objectives.iter().map(|o| o.id).collect();
    let stale: Vec<u32> = db
        .query_map(
            "SELECT objective FROM plan_progress WHERE plan_id = ?1",
            &[id.get().into()],
            |row| row.get(0),
        )?
        .into_iter()
        .filter(|objective| !kept.contains(objective))
        .collect();
    for objective in stale {
        db.execute(
            "DELETE FROM plan_progress WHERE plan_id = ?1 AND objective = ?2",
            &[id.get().into(), objective.into()],
        )?;
    }
    refresh_summary(db, id, body)?;
    insert_events(db, id, stored.account_id, events, author, &now)?;
    get_plan(db, visibility, id)
}

fn event_from_row(row: &Row<'_>) -> Result<PlanEventRow> {
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
        at: row.parsed(3, row::timestamp)?,
        author,
        kind: row.parsed(6, PlanEventKind::parse)?,
        item: row.get(7)?,
        text: row.get(8)?,
    })
}

pub(crate) fn plan_events(
    db: &Db<'_>,
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
    let statement = &sql.text;
    db.query_map(statement, &sql.params, event_from_row)
}

fn progress_from_row(row: &Row<'_>) -> Result<ProgressRow> {
    Ok(ProgressRow {
        plan_id: PlanId::new(row.get(0)?),
        objective: row.get(1)?,
        progress: Progress {
            day: row.parsed(2, row::date)?,
            baseline: row.get(3)?,
            value: row.get(4)?,
            expected: row.get(5)?,
            actual: row.get(6)?,
            status: row.parsed(7, ObjectiveStatus::parse)?,
            achieved_on: row.parsed_opt(8, row::date)?,
        },
    })
}

const PROGRESS_SELECT: &str = "SELECT g.plan_id, g.objective, g.day, g.baseline, g.value, g.expected, g.actual, g.status, g.achieved_on \
     FROM plan_progress g JOIN success_plans p ON p.id = g.plan_id JOIN accounts a ON a.id = p.account_id WHERE 1=1";

pub(crate) fn plan_progress(
    db: &Db<'_>,
    visibility: Visibility,
    plan: Option<PlanId>,
) -> Result<Vec<ProgressRow>> {
    let mut sql = Sql::new(PROGRESS_SELECT);
    sql.visible("a", visibility);
    if let Some(plan) = plan {
        sql.bind(" AND g.plan_id = ?", [Value::Integer(plan.get())]);
    }
    sql.bind(" ORDER BY g.plan_id, g.objective", []);
    let statement = &sql.text;
    db.query_map(statement, &sql.params, progress_from_row)
}

/// Writes the day's progress; an objective whose status changed gets an event from
/// Mikawaya, and the plans' summaries follow. Returns how many statuses changed.
pub(crate) fn put_plan_progress(
    db: &Db<'_>,
    rows: &[ProgressRow],
    events: &[(PlanId, PlanEvent)],
    at: jiff::Timestamp,
) -> Result<usize> {
    let now = row::instant(at);
    for (plan, event) in events {
        let account: i64 = db.query_one(
            "SELECT account_id FROM success_plans WHERE id = ?1",
            &[plan.get().into()],
            |r| r.get(0),
        )?;
        insert_events(
            db,
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
        let before: Option<String> = db.query_opt(
            "SELECT status FROM plan_progress WHERE plan_id = ?1 AND objective = ?2",
            &[row.plan_id.get().into(), row.objective.into()],
            |r| r.get(0),
        )?;
        let p = &row.progress;
        db.execute("INSERT INTO plan_progress (plan_id, objective, day, baseline, value, expected, actual, status, achieved_on) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (plan_id, objective) DO UPDATE SET day = excluded.day, baseline = excluded.baseline, \
                 value = excluded.value, expected = excluded.expected, actual = excluded.actual, \
                 status = excluded.status, achieved_on = excluded.achieved_on", &[row.plan_id.get().into(), row.objective.into(), p.day.to_string().into(), p.baseline.into(), p.value.into(), p.expected.into(), p.actual.into(), p.status.as_str().into(), p.achieved_on.map(|d| d.to_string()).into()])?;
        if before.as_deref() != Some(p.status.as_str()) {
            changed += 1;
            let account: i64 = db.query_one(
                "SELECT account_id FROM success_plans WHERE id = ?1",
                &[row.plan_id.get().into()],
                |r| r.get(0),
            )?;
            let event = PlanEvent {
                kind: PlanEventKind::ObjectiveStatus,
                item: Some(row.objective),
                text: p.status.as_str().to_owned(),
            };
            insert_events(
                db,
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
        let stored = get_plan(db, Visibility::All, plan)?;
        refresh_summary(db, plan, &stored.body)?;
    }
    Ok(changed)
}

fn share_from_row(row: &Row<'_>) -> Result<Share> {
    Ok(Share {
        id: row.get(0)?,
        plan_id: PlanId::new(row.get(1)?),
        contact_id: ContactId::new(row.get(2)?),
        created_by: row.get::<Option<i64>>(3)?.map(UserId::new),
        created_at: row.parsed(4, row::timestamp)?,
        expires_at: row.parsed(5, row::timestamp)?,
        revoked_at: row.parsed_opt(6, row::timestamp)?,
        last_opened_at: row.parsed_opt(7, row::timestamp)?,
    })
}

const SHARE_COLUMNS: &str = "s.id, s.plan_id, s.contact_id, s.created_by, s.created_at, s.expires_at, \
     s.revoked_at, s.last_opened_at";

pub(crate) fn create_share(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    share: &NewShare,
) -> Result<Share> {
    let plan = get_plan(db, visibility, share.plan_id)?;
    let contact: Option<i64> = db.query_opt(
        "SELECT account_id FROM contacts WHERE id = ?1",
        &[share.contact_id.get().into()],
        |row| row.get(0),
    )?;
    if contact != Some(plan.account_id.get()) {
        return Err(Invalid::new(
            "contact_id",
            format!("no contact {} at this account", share.contact_id),
        )
        .into());
    }
    let now = row::now();
    let id: i64 = db.query_one("INSERT INTO plan_shares (plan_id, contact_id, token_hash, created_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id", &[share.plan_id.get().into(), share.contact_id.get().into(), (&share.token_hash).into(), by.map(UserId::get).into(), (&now).into(), row::instant(share.expires_at).into()], |row| row.get(0))?;
    let event = PlanEvent {
        kind: PlanEventKind::Shared,
        item: None,
        text: share.contact_id.to_string(),
    };
    insert_events(
        db,
        plan.id,
        plan.account_id,
        &[event],
        by.map(Author::User),
        &now,
    )?;
    db.query_one(
        &format!("SELECT {SHARE_COLUMNS} FROM plan_shares s WHERE s.id = ?1"),
        &[id.into()],
        share_from_row,
    )
}

pub(crate) fn plan_shares(db: &Db<'_>, visibility: Visibility, plan: PlanId) -> Result<Vec<Share>> {
    get_plan(db, visibility, plan)?;
    let statement =
        &format!("SELECT {SHARE_COLUMNS} FROM plan_shares s WHERE s.plan_id = ?1 ORDER BY s.id");
    db.query_map(statement, &[plan.get().into()], share_from_row)
}

pub(crate) fn revoke_share(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    plan: PlanId,
    share: i64,
) -> Result<()> {
    let found = get_plan(db, visibility, plan)?;
    let now = row::now();
    let revoked = db.execute(
        "UPDATE plan_shares SET revoked_at = ?3 WHERE id = ?1 AND plan_id = ?2 \
         AND revoked_at IS NULL",
        &[share.into(), plan.get().into(), (&now).into()],
    )?;
    if revoked == 0 {
        return Err(StoreError::NotFound { entity: "share" });
    }
    let event = PlanEvent {
        kind: PlanEventKind::ShareRevoked,
        item: None,
        text: share.to_string(),
    };
    insert_events(
        db,
        plan,
        found.account_id,
        &[event],
        by.map(Author::User),
        &now,
    )
}

pub(crate) fn open_share(
    db: &Db<'_>,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<Share>> {
    let at = row::instant(now);
    let found = db.query_opt(
        &format!(
            "SELECT {SHARE_COLUMNS} FROM plan_shares s JOIN success_plans p ON p.id = s.plan_id \
             WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2"
        ),
        &[token_hash.into(), (&at).into()],
        share_from_row,
    )?;
    if let Some(share) = &found {
        db.execute(
            "UPDATE plan_shares SET last_opened_at = ?2 WHERE id = ?1",
            &[share.id.into(), (&at).into()],
        )?;
    }
    Ok(found)
}
