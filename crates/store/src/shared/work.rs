//! Playbook versions, runs, tasks, the outbox, field changes and survey answers.

use super::accounts;
use super::row;
use super::sql::{Keyset, Sql, text};
use crate::db::Value;
use crate::db::{Db, Row};
use crate::work::{
    AccountChange, Delivery, Effects, FieldUpdate, HealthRow, Message, NewMessage, PlaybookVersion,
    Run, RunFilter, TaskFilter, WorkflowBatch,
};
use crate::{Page, PageRequest, Result, StoreError};
use mikawaya_domain::account::{Account, AccountPatch};
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{
    Channel, MessageStatus, NewSurveyResponse, NewTask, Priority, RunStatus, SurveyKind,
    SurveyResponse, Task, TaskPatch, TaskStatus,
};
use mikawaya_domain::{AccountId, ContactId, Invalid, Patch, UserId, Visibility, WriteAccess};

// --- playbook versions --------------------------------------------------------

/// Saves a spec as the playbook's next version, unless it equals the latest.
pub(crate) fn put_playbook(db: &Db<'_>, name: &str, spec: &str) -> Result<i64> {
    let latest: Option<(i64, String)> = db.query_opt(
        "SELECT version, spec FROM playbook_versions WHERE name = ?1 ORDER BY version DESC LIMIT 1",
        &[name.into()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    match latest {
        Some((version, stored)) if stored == spec => Ok(version),
        latest => {
            let version = latest.map_or(1, |(version, _)| version + 1);
            let enabled: bool = db
                .query_opt(
                    "SELECT enabled FROM playbook_versions WHERE name = ?1 ORDER BY version \
                 DESC LIMIT 1",
                    &[name.into()],
                    |row| row.get(0),
                )?
                .unwrap_or(true);
            db.execute(
                "INSERT INTO playbook_versions (name, version, spec, enabled, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    name.into(),
                    version.into(),
                    spec.into(),
                    enabled.into(),
                    row::now().into(),
                ],
            )?;
            Ok(version)
        }
    }
}

pub(crate) fn set_playbook_enabled(db: &Db<'_>, name: &str, enabled: bool) -> Result<()> {
    let changed = db.execute(
        "UPDATE playbook_versions SET enabled = ?2 WHERE name = ?1",
        &[name.into(), enabled.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "playbook" });
    }
    Ok(())
}

pub(crate) fn playbook_versions(db: &Db<'_>, name: Option<&str>) -> Result<Vec<PlaybookVersion>> {
    let statement = "SELECT name, version, spec, enabled, created_at FROM playbook_versions \
         WHERE CAST(?1 AS TEXT) IS NULL OR name = ?1 ORDER BY name, version";
    let versions = db.query_map(statement, &[name.into()], |row| {
        Ok(PlaybookVersion {
            name: row.get(0)?,
            version: row.get(1)?,
            spec: row.get(2)?,
            enabled: row.get(3)?,
            created_at: row.parsed(4, row::timestamp)?,
        })
    })?;
    Ok(versions)
}

// --- runs ---------------------------------------------------------------------

const RUN_SELECT: &str = "SELECT r.id, r.playbook, r.version, r.account_id, r.fired_on, r.reason, r.status, r.cursor, r.resume_on, r.reason_ja \
     FROM playbook_runs r JOIN accounts a ON a.id = r.account_id WHERE 1=1";

fn run_from_row(row: &Row<'_>) -> Result<Run> {
    Ok(Run {
        id: row.get(0)?,
        playbook: row.get(1)?,
        version: row.get(2)?,
        account_id: AccountId::new(row.get(3)?),
        fired_on: row.parsed(4, row::date)?,
        reason: row.get(5)?,
        reason_ja: row.get(9)?,
        status: row.parsed(6, RunStatus::parse)?,
        cursor: row.get(7)?,
        resume_on: row.parsed_opt(8, row::date)?,
    })
}

pub(crate) fn list_runs(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &RunFilter,
) -> Result<Vec<Run>> {
    let mut sql = Sql::new(RUN_SELECT);
    sql.visible("a", visibility);
    if let Some(playbook) = &filter.playbook {
        sql.bind(" AND r.playbook = ?", [text(playbook)]);
    }
    if let Some(account_id) = filter.account_id {
        sql.bind(" AND r.account_id = ?", [Value::Integer(account_id.get())]);
    }
    if let Some(status) = filter.status {
        sql.bind(" AND r.status = ?", [text(status)]);
    }
    sql.bind(" ORDER BY r.id", []);
    let statement = &sql.text;
    let runs = db.query_map(statement, &sql.params, run_from_row)?;
    Ok(runs)
}

/// Writes one evaluation's decisions; returns the new runs' ids in order.
pub(crate) fn apply_workflow(
    db: &Db<'_>,
    access: &WriteAccess,
    batch: WorkflowBatch,
) -> Result<Vec<i64>> {
    let now = row::now();
    let mut ids = Vec::with_capacity(batch.new_runs.len());
    for run in batch.new_runs {
        accounts::get(db, access.visibility(), run.account_id)?;
        let id: i64 = db.query_one("INSERT INTO playbook_runs (playbook, version, account_id, fired_on, reason, status, cursor, resume_on, created_at, updated_at, reason_ja) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10) RETURNING id", &[run.playbook.into(), run.version.into(), run.account_id.get().into(), run.fired_on.to_string().into(), run.reason.into(), run.status.as_str().into(), run.cursor.into(), run.resume_on.map(|d| d.to_string()).into(), (&now).into(), run.reason_ja.into()], |row| row.get(0))?;
        write_effects(db, access, id, run.account_id, run.effects)?;
        ids.push(id);
    }
    for progress in batch.progress {
        let account_id: i64 = db
            .query_opt(
                "SELECT account_id FROM playbook_runs WHERE id = ?1",
                &[progress.run_id.into()],
                |row| row.get(0),
            )?
            .ok_or(StoreError::NotFound { entity: "run" })?;
        db.execute(
            "UPDATE playbook_runs SET status = ?2, cursor = ?3, resume_on = ?4, \
             updated_at = ?5 WHERE id = ?1",
            &[
                progress.run_id.into(),
                progress.status.as_str().into(),
                progress.cursor.into(),
                progress.resume_on.map(|d| d.to_string()).into(),
                (&now).into(),
            ],
        )?;
        write_effects(
            db,
            access,
            progress.run_id,
            AccountId::new(account_id),
            progress.effects,
        )?;
        if let Some(outcome) = &progress.close_open_tasks {
            db.execute(
                "UPDATE tasks SET status = 'done', outcome = ?2, completed_at = ?3 \
                 WHERE run_id = ?1 AND status = 'open'",
                &[
                    progress.run_id.into(),
                    outcome.as_str().into(),
                    (&now).into(),
                ],
            )?;
        }
    }
    Ok(ids)
}

fn write_effects(
    db: &Db<'_>,
    access: &WriteAccess,
    run_id: i64,
    account_id: AccountId,
    effects: Effects,
) -> Result<()> {
    for mut task in effects.tasks {
        task.run_id = Some(run_id);
        insert_task(db, &task)?;
    }
    for message in effects.messages {
        insert_message(db, Some(run_id), &message)?;
    }
    for field in effects.fields {
        let mut patch = AccountPatch::default();
        match field {
            FieldUpdate::Stage(stage) => patch.stage = Patch::Set(stage),
            FieldUpdate::Tier(tier) => patch.tier = Patch::Set(tier),
            FieldUpdate::Owner(owner) => patch.owner_id = Patch::Set(owner),
        }
        accounts::update(db, access, account_id, patch)?;
    }
    for send in &effects.surveys {
        super::voice::insert_send(db, Some(run_id), send)?;
    }
    for (body, events) in &effects.plans {
        let edit = crate::plans::PlanEdit {
            body,
            events,
            author: None,
            at: jiff::Timestamp::now(),
        };
        super::plans::insert_plan(db, access.visibility(), account_id, edit)?;
    }
    Ok(())
}

pub(crate) fn set_run_status(
    db: &Db<'_>,
    visibility: Visibility,
    id: i64,
    status: RunStatus,
) -> Result<()> {
    let mut sql = Sql::new(RUN_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND r.id = ?", [Value::Integer(id)]);
    db.query_opt(&sql.text, &sql.params, run_from_row)?
        .ok_or(StoreError::NotFound { entity: "run" })?;
    db.execute(
        "UPDATE playbook_runs SET status = ?2, updated_at = ?3 WHERE id = ?1",
        &[id.into(), status.as_str().into(), row::now().into()],
    )?;
    Ok(())
}

// --- tasks --------------------------------------------------------------------

const TASK_SELECT: &str = "SELECT t.id, t.account_id, t.owner_id, t.title, t.instructions, t.priority, t.due_on, t.status, \
     t.snoozed_until, t.outcome, t.note, t.run_id, t.phase, t.deliverable, t.created_at, t.completed_at \
     FROM tasks t JOIN accounts a ON a.id = t.account_id WHERE 1=1";

fn task_from_row(row: &Row<'_>) -> Result<Task> {
    Ok(Task {
        id: row.get(0)?,
        account_id: AccountId::new(row.get(1)?),
        owner_id: row.get::<Option<i64>>(2)?.map(UserId::new),
        title: row.parsed(3, Text::parse)?,
        instructions: row.parsed_opt(4, Text::parse)?,
        priority: row.parsed(5, Priority::parse)?,
        due_on: row.parsed(6, row::date)?,
        status: row.parsed(7, TaskStatus::parse)?,
        snoozed_until: row.parsed_opt(8, row::date)?,
        outcome: row.parsed_opt(9, Text::parse)?,
        note: row.parsed_opt(10, Text::parse)?,
        run_id: row.get(11)?,
        phase: row.get(12)?,
        deliverable: row.get(13)?,
        created_at: row.parsed(14, row::timestamp)?,
        completed_at: row.parsed_opt(15, row::timestamp)?,
    })
}

fn insert_task(db: &Db<'_>, task: &NewTask) -> Result<i64> {
    let now = row::now();
    db.query_one("INSERT INTO tasks (account_id, run_id, phase, deliverable, owner_id, title, instructions, priority, due_on, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'open', ?10, ?10) RETURNING id", &[task.account_id.get().into(), task.run_id.into(), (&task.phase).into(), (&task.deliverable).into(), task.owner_id.map(UserId::get).into(), task.title.as_str().into(), task.instructions.as_ref().map(Text::as_str).into(), task.priority.as_str().into(), task.due_on.to_string().into(), (&now).into()], |row| row.get(0))
}

fn check_owner(db: &Db<'_>, visibility: Visibility, owner_id: Option<UserId>) -> Result<()> {
    match owner_id {
        Some(owner) => super::team::check_user_reference(db, visibility, owner, "owner_id"),
        None => Ok(()),
    }
}

pub(crate) fn create_task(db: &Db<'_>, access: &WriteAccess, task: NewTask) -> Result<Task> {
    accounts::get(db, access.visibility(), task.account_id)
        .map_err(|_| Invalid::new("account_id", format!("no account {}", task.account_id)))?;
    check_owner(db, access.visibility(), task.owner_id)?;
    let id = insert_task(db, &task)?;
    get_task(db, access.visibility(), id)
}

pub(crate) fn get_task(db: &Db<'_>, visibility: Visibility, id: i64) -> Result<Task> {
    let mut sql = Sql::new(TASK_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND t.id = ?", [Value::Integer(id)]);
    db.query_opt(&sql.text, &sql.params, task_from_row)?
        .ok_or(StoreError::NotFound { entity: "task" })
}

pub(crate) fn list_tasks(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &TaskFilter,
    page: &PageRequest,
) -> Result<Page<Task>> {
    let mut sql = Sql::new(TASK_SELECT);
    sql.visible("a", visibility);
    if let Some(owner) = filter.owner_id {
        sql.bind(" AND t.owner_id = ?", [Value::Integer(owner.get())]);
    }
    if filter.unassigned {
        sql.bind(" AND t.owner_id IS NULL", []);
    }
    if let Some(status) = filter.status {
        sql.bind(" AND t.status = ?", [text(status)]);
    }
    if let Some(account_id) = filter.account_id {
        sql.bind(" AND t.account_id = ?", [Value::Integer(account_id.get())]);
    }
    if let Some(run_id) = filter.run_id {
        sql.bind(" AND t.run_id = ?", [Value::Integer(run_id)]);
    }
    if let Some(day) = filter.overdue_on {
        sql.bind(" AND t.status = 'open' AND t.due_on < ?", [text(day)]);
    }
    if let Some(day) = filter.awake_on {
        sql.bind(
            " AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?)",
            [text(day)],
        );
    }
    let keyset = Keyset {
        name: "due_on".into(),
        expression: "t.due_on",
        id_column: "t.id",
        descending: false,
    };
    keyset.fetch(db, sql, page, task_from_row, |t| {
        (serde_json::json!(t.due_on.to_string()), t.id)
    })
}

pub(crate) fn update_task(
    db: &Db<'_>,
    access: &WriteAccess,
    id: i64,
    patch: TaskPatch,
) -> Result<Task> {
    let mut task = get_task(db, access.visibility(), id)?;
    if let Patch::Set(owner) = patch.owner_id {
        check_owner(db, access.visibility(), Some(owner))?;
    }
    task.owner_id = patch.owner_id.apply(task.owner_id);
    if let Some(priority) = patch.priority {
        task.priority = priority;
    }
    if let Some(due_on) = patch.due_on {
        task.due_on = due_on;
    }
    task.snoozed_until = patch.snoozed_until.apply(task.snoozed_until);
    task.outcome = patch.outcome.apply(task.outcome);
    task.note = patch.note.apply(task.note);
    if let Some(status) = patch.status {
        if status == TaskStatus::Done && task.outcome.is_none() {
            return Err(Invalid::new("outcome", "is required to complete a task").into());
        }
        task.completed_at = match status {
            TaskStatus::Done if task.status != TaskStatus::Done => Some(jiff::Timestamp::now()),
            TaskStatus::Done => task.completed_at,
            TaskStatus::Open => None,
        };
        task.status = status;
    }
    db.execute("UPDATE tasks SET owner_id = ?2, priority = ?3, due_on = ?4, snoozed_until = ?5, outcome = ?6, note = ?7, \
         status = ?8, completed_at = ?9, updated_at = ?10 WHERE id = ?1", &[id.into(), task.owner_id.map(UserId::get).into(), task.priority.as_str().into(), task.due_on.to_string().into(), task.snoozed_until.map(|d| d.to_string()).into(), task.outcome.as_ref().map(Text::as_str).into(), task.note.as_ref().map(Text::as_str).into(), task.status.as_str().into(), task.completed_at.map(row::instant).into(), row::now().into()])?;
    get_task(db, access.visibility(), id)
}

// --- outbox -------------------------------------------------------------------

const MESSAGE_SELECT: &str = "SELECT id, idempotency_key, channel, account_id, contact_id, run_id, recipient, subject, body, format, \
     status, reason, attempts, next_attempt_at, last_error, created_at, sent_at FROM outbox WHERE 1=1";

fn message_from_row(row: &Row<'_>) -> Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        idempotency_key: row.get(1)?,
        channel: row.parsed(2, Channel::parse)?,
        account_id: row.get::<Option<i64>>(3)?.map(AccountId::new),
        contact_id: row.get::<Option<i64>>(4)?.map(ContactId::new),
        run_id: row.get(5)?,
        recipient: row.get(6)?,
        subject: row.get(7)?,
        body: row.get(8)?,
        format: row.get(9)?,
        status: row.parsed(10, MessageStatus::parse)?,
        reason: row.get(11)?,
        attempts: row.get(12)?,
        next_attempt_at: row.parsed(13, row::timestamp)?,
        last_error: row.get(14)?,
        created_at: row.parsed(15, row::timestamp)?,
        sent_at: row.parsed_opt(16, row::timestamp)?,
    })
}

/// Queues a message; a message whose key is already queued is kept once.
pub(crate) fn insert_message(db: &Db<'_>, run_id: Option<i64>, message: &NewMessage) -> Result<()> {
    db.execute("INSERT INTO outbox (idempotency_key, channel, account_id, contact_id, run_id, recipient, subject, body, format, \
             status, reason, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (idempotency_key) DO NOTHING", &[(&message.idempotency_key).into(), message.channel.as_str().into(), message.account_id.map(AccountId::get).into(), message.contact_id.map(ContactId::get).into(), run_id.into(), (&message.recipient).into(), (&message.subject).into(), (&message.body).into(), (&message.format).into(), message.status.as_str().into(), (&message.reason).into(), row::instant(message.not_before).into(), row::now().into()])?;
    Ok(())
}

pub(crate) fn list_messages(db: &Db<'_>, status: Option<MessageStatus>) -> Result<Vec<Message>> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    if let Some(status) = status {
        sql.bind(" AND status = ?", [text(status)]);
    }
    sql.bind(" ORDER BY id", []);
    let statement = &sql.text;
    let messages = db.query_map(statement, &sql.params, message_from_row)?;
    Ok(messages)
}

/// Takes up to `limit` due messages for sending: pending ones due by `now`, and ones whose
/// sender's lease ran out (it died). Each gets a lease until `lease_until`.
pub(crate) fn claim_messages(
    db: &Db<'_>,
    now: jiff::Timestamp,
    lease_until: jiff::Timestamp,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    sql.bind(
        " AND status IN ('pending', 'sending') AND next_attempt_at <= ? ORDER BY \
             next_attempt_at, id LIMIT ?",
        [text(row::instant(now)), Value::Integer(i64::from(limit))],
    );
    if db.is_postgres() {
        // Nodes claim at once: each takes rows no other claim holds (SQLite has one writer).
        sql.bind(" FOR UPDATE SKIP LOCKED", []);
    }
    let mut messages = db.query_map(&sql.text, &sql.params, message_from_row)?;
    let lease = row::instant(lease_until);
    for message in &mut messages {
        db.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
             next_attempt_at = ?2 WHERE id = ?1",
            &[message.id.into(), (&lease).into()],
        )?;
        message.status = MessageStatus::Sending;
        message.attempts += 1;
    }
    Ok(messages)
}

pub(crate) fn hold_message(
    db: &Db<'_>,
    id: i64,
    attempts: i64,
    lease_until: jiff::Timestamp,
) -> Result<bool> {
    let held = db.execute(
        "UPDATE outbox SET next_attempt_at = ?3 \
         WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
        &[id.into(), attempts.into(), row::instant(lease_until).into()],
    )?;
    Ok(held == 1)
}

pub(crate) fn finish_message(db: &Db<'_>, id: i64, delivery: &Delivery) -> Result<()> {
    let changed = match delivery {
        Delivery::Sent { at } => db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL WHERE \
             id = ?1",
            &[id.into(), row::instant(*at).into()],
        )?,
        Delivery::Retry { retry_at, error } => db.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, last_error = \
             ?3 WHERE id = ?1",
            &[id.into(), row::instant(*retry_at).into(), error.into()],
        )?,
        Delivery::Failed { error } => db.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?2 WHERE id = ?1",
            &[id.into(), error.into()],
        )?,
        Delivery::Suppressed { reason } => db.execute(
            "UPDATE outbox SET status = 'suppressed', reason = ?2 WHERE id = ?1",
            &[id.into(), reason.into()],
        )?,
    };
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "message" });
    }
    Ok(())
}

/// Emails to one address written since an instant and not suppressed or failed.
pub(crate) fn emails_to_since(db: &Db<'_>, recipient: &str, since: jiff::Timestamp) -> Result<u64> {
    let count: i64 = db.query_one("SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND recipient = ?1 AND next_attempt_at >= ?2 \
             AND status IN ('pending', 'sending', 'sent')", &[recipient.into(), row::instant(since).into()], |row| {
            row.get(0)
        })?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(crate) fn unsubscribe(db: &Db<'_>, email: &str) -> Result<()> {
    db.execute(
        "INSERT INTO unsubscribes (email, created_at) VALUES (?1, ?2) ON CONFLICT \
         (email) DO NOTHING",
        &[email.to_lowercase().into(), row::now().into()],
    )?;
    db.execute(
        "UPDATE outbox SET status = 'suppressed', reason = 'unsubscribed' \
         WHERE channel = 'email' AND lower(recipient) = ?1 AND status = 'pending'",
        &[email.to_lowercase().into()],
    )?;
    Ok(())
}

pub(crate) fn is_unsubscribed(db: &Db<'_>, email: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM unsubscribes WHERE email = ?1",
            &[email.to_lowercase().into()],
            |_| Ok(()),
        )?
        .is_some())
}

// --- changes and surveys ------------------------------------------------------

/// Records what changed between two versions of an account.
pub(crate) fn record_changes(db: &Db<'_>, before: &Account, after: &Account) -> Result<()> {
    let fields = [
        (
            "stage",
            before.stage.as_ref().map(ToString::to_string),
            after.stage.as_ref().map(ToString::to_string),
        ),
        (
            "tier",
            before.tier.map(|t| t.to_string()),
            after.tier.map(|t| t.to_string()),
        ),
        (
            "plan",
            before.plan.as_ref().map(ToString::to_string),
            after.plan.as_ref().map(ToString::to_string),
        ),
        (
            "owner",
            before.owner_id.map(|o| o.to_string()),
            after.owner_id.map(|o| o.to_string()),
        ),
        (
            "renewal_date",
            before.renewal_date.map(|d| d.to_string()),
            after.renewal_date.map(|d| d.to_string()),
        ),
        (
            "partner",
            before.partner_id.map(|p| p.to_string()),
            after.partner_id.map(|p| p.to_string()),
        ),
    ];
    for (field, old, new) in fields {
        if old != new {
            record_change(db, after.id, field, old, new)?;
        }
    }
    let keys: std::collections::BTreeSet<&String> = before
        .custom_fields
        .keys()
        .chain(after.custom_fields.keys())
        .collect();
    for key in keys {
        let old = before.custom_fields.get(key).map(|v| v.label());
        let new = after.custom_fields.get(key).map(|v| v.label());
        if old != new {
            record_change(db, after.id, &format!("custom.{key}"), old, new)?;
        }
    }
    Ok(())
}

pub(crate) fn record_change(
    db: &Db<'_>,
    account_id: AccountId,
    field: &str,
    old: Option<String>,
    new: Option<String>,
) -> Result<()> {
    record_change_at(db, account_id, field, old, new, &row::now())
}

/// Records a change that happened at `at` (a stage entered on a past day).
pub(crate) fn record_change_at(
    db: &Db<'_>,
    account_id: AccountId,
    field: &str,
    old: Option<String>,
    new: Option<String>,
    at: &str,
) -> Result<()> {
    db.execute(
        "INSERT INTO account_changes (account_id, field, old_value, new_value, \
         changed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            account_id.get().into(),
            field.into(),
            old.into(),
            new.into(),
            (&at).into(),
        ],
    )?;
    Ok(())
}

pub(crate) fn account_changes(
    db: &Db<'_>,
    visibility: Visibility,
    since: jiff::Timestamp,
) -> Result<Vec<AccountChange>> {
    let mut sql = Sql::new(
        "SELECT c.account_id, c.field, c.old_value, c.new_value, c.changed_at \
         FROM account_changes c JOIN accounts a ON a.id = c.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    sql.bind(
        " AND c.changed_at >= ? ORDER BY c.id",
        [text(row::instant(since))],
    );
    let statement = &sql.text;
    let changes = db.query_map(statement, &sql.params, |row| {
        Ok(AccountChange {
            account_id: AccountId::new(row.get(0)?),
            field: row.get(1)?,
            old_value: row.get(2)?,
            new_value: row.get(3)?,
            changed_at: row.parsed(4, row::timestamp)?,
        })
    })?;
    Ok(changes)
}

pub(crate) fn add_survey_response(
    db: &Db<'_>,
    access: &WriteAccess,
    response: NewSurveyResponse,
) -> Result<SurveyResponse> {
    accounts::get(db, access.visibility(), response.account_id)
        .map_err(|_| Invalid::new("account_id", format!("no account {}", response.account_id)))?;
    let score = response.kind.check(response.score)?;
    let id: i64 = db.query_one(
        "INSERT INTO survey_responses (account_id, contact_id, kind, score, \
         comment, answered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            response.account_id.get().into(),
            response.contact_id.map(ContactId::get).into(),
            response.kind.as_str().into(),
            score.into(),
            response.comment.as_ref().map(Text::as_str).into(),
            row::instant(response.answered_at).into(),
        ],
        |row| row.get(0),
    )?;
    Ok(SurveyResponse {
        id,
        account_id: response.account_id,
        contact_id: response.contact_id,
        kind: response.kind,
        score,
        comment: response.comment,
        answered_at: response.answered_at,
        experience_override: None,
    })
}

pub(crate) fn survey_responses(
    db: &Db<'_>,
    visibility: Visibility,
    accounts: Option<&[AccountId]>,
    since: jiff::Timestamp,
) -> Result<Vec<SurveyResponse>> {
    let mut sql = Sql::new(
        "SELECT s.id, s.account_id, s.contact_id, s.kind, s.score, s.comment, s.answered_at, s.experience_override \
         FROM survey_responses s JOIN accounts a ON a.id = s.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    if let Some(accounts) = accounts {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        sql.account_in("s.account_id", accounts);
    }
    sql.bind(
        " AND s.answered_at >= ? ORDER BY s.answered_at, s.id",
        [text(row::instant(since))],
    );
    let statement = &sql.text;
    let responses = db.query_map(statement, &sql.params, |row| {
        Ok(SurveyResponse {
            id: row.get(0)?,
            account_id: AccountId::new(row.get(1)?),
            contact_id: row.get::<Option<i64>>(2)?.map(ContactId::new),
            kind: row.parsed(3, SurveyKind::parse)?,
            score: row.get(4)?,
            comment: row.parsed_opt(5, Text::parse)?,
            answered_at: row.parsed(6, row::timestamp)?,
            experience_override: row.parsed_opt(7, mikawaya_domain::voice::Experience::parse)?,
        })
    })?;
    Ok(responses)
}

// --- health snapshots ---------------------------------------------------------

/// Replaces a scorecard's snapshot of one day.
pub(crate) fn put_health(
    db: &Db<'_>,
    scorecard: &str,
    day: jiff::civil::Date,
    rows: &[HealthRow],
) -> Result<()> {
    db.execute(
        "DELETE FROM health_scores WHERE scorecard = ?1 AND day = ?2",
        &[scorecard.into(), day.to_string().into()],
    )?;
    let day = day.to_string();
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        values.push(vec![
            scorecard.into(),
            row.account_id.get().into(),
            day.as_str().into(),
            row.score.into(),
            (&row.colour).into(),
            (serde_json::to_string(&row.measures)
                .map_err(|e| StoreError::Corrupt(format!("health measures: {e}")))?)
            .into(),
            (&row.card).into(),
            row.cards_version.into(),
        ]);
    }
    db.insert_rows(
        "health_scores",
        "scorecard, account_id, day, score, colour, measures, card, cards_version",
        8,
        values,
    )?;
    Ok(())
}

/// The days a scorecard has snapshots of, oldest first.
pub(crate) fn health_days(db: &Db<'_>, scorecard: &str) -> Result<Vec<jiff::civil::Date>> {
    let statement = "SELECT DISTINCT day FROM health_scores WHERE scorecard = ?1 ORDER BY day";
    let days = db.query_map(statement, &[scorecard.into()], |row| {
        row.parsed(0, row::date)
    })?;
    Ok(days)
}

/// The latest snapshot day in a range (one index probe: `MAX` over the range).
pub(crate) fn latest_health_day(
    db: &Db<'_>,
    scorecard: &str,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Option<jiff::civil::Date>> {
    let day: Option<String> = db.query_one(
        "SELECT MAX(day) FROM health_scores WHERE scorecard = ?1 AND day >= ?2 AND day <= ?3",
        &[
            scorecard.into(),
            from.to_string().into(),
            to.to_string().into(),
        ],
        |row| row.get(0),
    )?;
    day.map(|raw| row::date(&raw).map_err(StoreError::from))
        .transpose()
}

/// Snapshot rows of visible accounts between two days (inclusive), of some accounts or
/// all, by account and day.
pub(crate) fn health_rows(
    db: &Db<'_>,
    visibility: Visibility,
    scorecard: &str,
    accounts: Option<&[AccountId]>,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Vec<HealthRow>> {
    let mut sql = Sql::new(
        "SELECT h.account_id, h.day, h.score, h.colour, h.measures, h.card, h.cards_version FROM health_scores h \
         JOIN accounts a ON a.id = h.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    sql.bind(
        " AND h.scorecard = ? AND h.day >= ? AND h.day <= ?",
        [text(scorecard), text(from), text(to)],
    );
    if let Some(accounts) = accounts {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        sql.account_in("h.account_id", accounts);
    }
    sql.bind(" ORDER BY h.account_id, h.day", []);
    let statement = &sql.text;
    let rows = db.query_map(statement, &sql.params, |row| {
        Ok(HealthRow {
            account_id: AccountId::new(row.get(0)?),
            day: row.parsed(1, row::date)?,
            score: row.get(2)?,
            colour: row.get(3)?,
            measures: row.parsed(4, row::json)?,
            card: row.get(5)?,
            cards_version: row.get(6)?,
        })
    })?;
    Ok(rows)
}

// --- metric series ------------------------------------------------------------

/// Replaces a metric's values of one day.
pub(crate) fn put_metric_values(
    db: &Db<'_>,
    metric: &str,
    day: jiff::civil::Date,
    values: &[(AccountId, Option<f64>)],
) -> Result<()> {
    db.execute(
        "DELETE FROM metric_values WHERE metric = ?1 AND day = ?2",
        &[metric.into(), day.to_string().into()],
    )?;
    let day = day.to_string();
    db.insert_rows(
        "metric_values",
        "metric, account_id, day, value",
        4,
        values.iter().map(|(account, value)| {
            vec![
                metric.into(),
                account.get().into(),
                day.as_str().into(),
                (*value).into(),
            ]
        }),
    )?;
    Ok(())
}

/// The days a metric has stored values of, oldest first.
pub(crate) fn metric_days(db: &Db<'_>, metric: &str) -> Result<Vec<jiff::civil::Date>> {
    let statement = "SELECT DISTINCT day FROM metric_values WHERE metric = ?1 ORDER BY day";
    let days = db.query_map(statement, &[metric.into()], |row| row.parsed(0, row::date))?;
    Ok(days)
}

/// One visible account's stored values of a metric between two days, by day.
pub(crate) fn metric_series(
    db: &Db<'_>,
    visibility: Visibility,
    metric: &str,
    account: AccountId,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Vec<(jiff::civil::Date, Option<f64>)>> {
    let mut sql = Sql::new(
        "SELECT m.day, m.value FROM metric_values m JOIN accounts a ON a.id = \
             m.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    sql.bind(
        " AND m.metric = ? AND m.account_id = ? AND m.day >= ? AND m.day <= ? ORDER BY m.day",
        [
            text(metric),
            Value::Integer(account.get()),
            text(from),
            text(to),
        ],
    );
    let statement = &sql.text;
    let series = db.query_map(statement, &sql.params, |row| {
        Ok((row.parsed(0, row::date)?, row.get(1)?))
    })?;
    Ok(series)
}

// --- pulses -------------------------------------------------------------------

pub(crate) fn add_pulse(
    db: &Db<'_>,
    access: &WriteAccess,
    pulse: &crate::work::Pulse,
) -> Result<()> {
    accounts::get(db, access.visibility(), pulse.account_id)?;
    if !(0..=100).contains(&pulse.score) {
        return Err(Invalid::new("score", "must be between 0 and 100").into());
    }
    if pulse.reason.trim().is_empty() {
        return Err(Invalid::new("reason", "a pulse needs a reason").into());
    }
    db.execute(
        "INSERT INTO pulses (account_id, user_id, score, reason, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            pulse.account_id.get().into(),
            pulse.user_id.map(UserId::get).into(),
            pulse.score.into(),
            pulse.reason.trim().into(),
            row::instant(pulse.created_at).into(),
        ],
    )?;
    Ok(())
}

pub(crate) fn touch_times(
    db: &Db<'_>,
    visibility: Visibility,
) -> Result<Vec<(AccountId, jiff::Timestamp)>> {
    let mut sql = Sql::new(
        "SELECT t.account_id, t.occurred_at FROM touchpoints t JOIN accounts a ON \
             a.id = t.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    let statement = &sql.text;
    let times = db.query_map(statement, &sql.params, |row| {
        Ok((AccountId::new(row.get(0)?), row.parsed(1, row::timestamp)?))
    })?;
    Ok(times)
}

pub(crate) fn pulses(
    db: &Db<'_>,
    visibility: Visibility,
    accounts: Option<&[AccountId]>,
) -> Result<Vec<crate::work::Pulse>> {
    let mut sql = Sql::new(
        "SELECT p.account_id, p.user_id, p.score, p.reason, p.created_at FROM \
             pulses p JOIN accounts a ON a.id = p.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    if let Some(accounts) = accounts {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        sql.account_in("p.account_id", accounts);
    }
    sql.bind(" ORDER BY p.created_at, p.id", []);
    let statement = &sql.text;
    let pulses = db.query_map(statement, &sql.params, |row| {
        Ok(crate::work::Pulse {
            account_id: AccountId::new(row.get(0)?),
            user_id: row.get::<Option<i64>>(1)?.map(UserId::new),
            score: row.get(2)?,
            reason: row.get(3)?,
            created_at: row.parsed(4, row::timestamp)?,
        })
    })?;
    Ok(pulses)
}
