//! Playbook versions, runs, tasks, the outbox, field changes and survey answers.

use super::accounts;
use super::row::{self, parsed, parsed_opt};
use super::sql::{Keyset, Sql, text};
use crate::db::Value;
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
use rusqlite::{Connection, OptionalExtension, Row};

// --- playbook versions --------------------------------------------------------

/// Saves a spec as the playbook's next version, unless it equals the latest.
pub(crate) fn put_playbook(connection: &Connection, name: &str, spec: &str) -> Result<i64> {
    let latest: Option<(i64, String)> = connection
        .query_row(
            "SELECT version, spec FROM playbook_versions WHERE name = ?1 ORDER BY version DESC LIMIT 1",
            [name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match latest {
        Some((version, stored)) if stored == spec => Ok(version),
        latest => {
            let version = latest.map_or(1, |(version, _)| version + 1);
            let enabled: bool = connection
                .query_row(
                    "SELECT enabled FROM playbook_versions WHERE name = ?1 ORDER BY version DESC LIMIT 1",
                    [name],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or(true);
            connection.execute(
                "INSERT INTO playbook_versions (name, version, spec, enabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![name, version, spec, enabled, row::now()],
            )?;
            Ok(version)
        }
    }
}

pub(crate) fn set_playbook_enabled(
    connection: &Connection,
    name: &str,
    enabled: bool,
) -> Result<()> {
    let changed = connection.execute(
        "UPDATE playbook_versions SET enabled = ?2 WHERE name = ?1",
        rusqlite::params![name, enabled],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "playbook" });
    }
    Ok(())
}

pub(crate) fn playbook_versions(
    connection: &Connection,
    name: Option<&str>,
) -> Result<Vec<PlaybookVersion>> {
    let mut statement = connection.prepare_cached(
        "SELECT name, version, spec, enabled, created_at FROM playbook_versions \
         WHERE ?1 IS NULL OR name = ?1 ORDER BY name, version",
    )?;
    let versions = statement
        .query_map([name], |row| {
            Ok(PlaybookVersion {
                name: row.get(0)?,
                version: row.get(1)?,
                spec: row.get(2)?,
                enabled: row.get(3)?,
                created_at: parsed(row, 4, row::timestamp)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(versions)
}

// --- runs ---------------------------------------------------------------------

const RUN_SELECT: &str = "SELECT r.id, r.playbook, r.version, r.account_id, r.fired_on, r.reason, r.status, r.cursor, r.resume_on, r.reason_ja \
     FROM playbook_runs r JOIN accounts a ON a.id = r.account_id WHERE 1=1";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: row.get(0)?,
        playbook: row.get(1)?,
        version: row.get(2)?,
        account_id: AccountId::new(row.get(3)?),
        fired_on: parsed(row, 4, row::date)?,
        reason: row.get(5)?,
        reason_ja: row.get(9)?,
        status: parsed(row, 6, RunStatus::parse)?,
        cursor: row.get(7)?,
        resume_on: parsed_opt(row, 8, row::date)?,
    })
}

pub(crate) fn list_runs(
    connection: &Connection,
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
    let mut statement = connection.prepare_cached(&sql.text)?;
    let runs = statement
        .query_map(sql.params(), run_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(runs)
}

/// Writes one evaluation's decisions; returns the new runs' ids in order.
pub(crate) fn apply_workflow(
    connection: &Connection,
    access: &WriteAccess,
    batch: WorkflowBatch,
) -> Result<Vec<i64>> {
    let now = row::now();
    let mut ids = Vec::with_capacity(batch.new_runs.len());
    for run in batch.new_runs {
        accounts::get(connection, access.visibility(), run.account_id)?;
        connection
            .prepare_cached(
                "INSERT INTO playbook_runs (playbook, version, account_id, fired_on, reason, status, cursor, resume_on, created_at, updated_at, reason_ja) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
            )?
            .execute(rusqlite::params![
                run.playbook,
                run.version,
                run.account_id.get(),
                run.fired_on.to_string(),
                run.reason,
                run.status.as_str(),
                run.cursor,
                run.resume_on.map(|d| d.to_string()),
                now,
                run.reason_ja,
            ])?;
        let id = connection.last_insert_rowid();
        write_effects(connection, access, id, run.account_id, run.effects)?;
        ids.push(id);
    }
    for progress in batch.progress {
        let account_id: i64 = connection
            .query_row(
                "SELECT account_id FROM playbook_runs WHERE id = ?1",
                [progress.run_id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or(StoreError::NotFound { entity: "run" })?;
        connection.execute(
            "UPDATE playbook_runs SET status = ?2, cursor = ?3, resume_on = ?4, updated_at = ?5 WHERE id = ?1",
            rusqlite::params![
                progress.run_id,
                progress.status.as_str(),
                progress.cursor,
                progress.resume_on.map(|d| d.to_string()),
                now,
            ],
        )?;
        write_effects(
            connection,
            access,
            progress.run_id,
            AccountId::new(account_id),
            progress.effects,
        )?;
        if let Some(outcome) = &progress.close_open_tasks {
            connection.execute(
                "UPDATE tasks SET status = 'done', outcome = ?2, completed_at = ?3 \
                 WHERE run_id = ?1 AND status = 'open'",
                rusqlite::params![progress.run_id, outcome.as_str(), now],
            )?;
        }
    }
    Ok(ids)
}

fn write_effects(
    connection: &Connection,
    access: &WriteAccess,
    run_id: i64,
    account_id: AccountId,
    effects: Effects,
) -> Result<()> {
    for mut task in effects.tasks {
        task.run_id = Some(run_id);
        insert_task(connection, &task)?;
    }
    for message in effects.messages {
        insert_message(connection, Some(run_id), &message)?;
    }
    for field in effects.fields {
        let mut patch = AccountPatch::default();
        match field {
            FieldUpdate::Stage(stage) => patch.stage = Patch::Set(stage),
            FieldUpdate::Tier(tier) => patch.tier = Patch::Set(tier),
            FieldUpdate::Owner(owner) => patch.owner_id = Patch::Set(owner),
        }
        accounts::update(connection, access, account_id, patch)?;
    }
    for send in &effects.surveys {
        super::voice::insert_send(connection, Some(run_id), send)?;
    }
    for (body, events) in &effects.plans {
        let edit = crate::plans::PlanEdit {
            body,
            events,
            author: None,
            at: jiff::Timestamp::now(),
        };
        super::plans::insert_plan(connection, access.visibility(), account_id, edit)?;
    }
    Ok(())
}

pub(crate) fn set_run_status(
    connection: &Connection,
    visibility: Visibility,
    id: i64,
    status: RunStatus,
) -> Result<()> {
    let mut sql = Sql::new(RUN_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND r.id = ?", [Value::Integer(id)]);
    connection
        .prepare_cached(&sql.text)?
        .query_row(sql.params(), run_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { entity: "run" })?;
    connection.execute(
        "UPDATE playbook_runs SET status = ?2, updated_at = ?3 WHERE id = ?1",
        rusqlite::params![id, status.as_str(), row::now()],
    )?;
    Ok(())
}

// --- tasks --------------------------------------------------------------------

const TASK_SELECT: &str = "SELECT t.id, t.account_id, t.owner_id, t.title, t.instructions, t.priority, t.due_on, t.status, \
     t.snoozed_until, t.outcome, t.note, t.run_id, t.phase, t.deliverable, t.created_at, t.completed_at \
     FROM tasks t JOIN accounts a ON a.id = t.account_id WHERE 1=1";

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: row.get(0)?,
        account_id: AccountId::new(row.get(1)?),
        owner_id: row.get::<_, Option<i64>>(2)?.map(UserId::new),
        title: parsed(row, 3, Text::parse)?,
        instructions: parsed_opt(row, 4, Text::parse)?,
        priority: parsed(row, 5, Priority::parse)?,
        due_on: parsed(row, 6, row::date)?,
        status: parsed(row, 7, TaskStatus::parse)?,
        snoozed_until: parsed_opt(row, 8, row::date)?,
        outcome: parsed_opt(row, 9, Text::parse)?,
        note: parsed_opt(row, 10, Text::parse)?,
        run_id: row.get(11)?,
        phase: row.get(12)?,
        deliverable: row.get(13)?,
        created_at: parsed(row, 14, row::timestamp)?,
        completed_at: parsed_opt(row, 15, row::timestamp)?,
    })
}

fn insert_task(connection: &Connection, task: &NewTask) -> Result<i64> {
    let now = row::now();
    connection
        .prepare_cached(
            "INSERT INTO tasks (account_id, run_id, phase, deliverable, owner_id, title, instructions, priority, due_on, status, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'open', ?10, ?10)",
        )?
        .execute(rusqlite::params![
            task.account_id.get(),
            task.run_id,
            task.phase,
            task.deliverable,
            task.owner_id.map(UserId::get),
            task.title.as_str(),
            task.instructions.as_ref().map(Text::as_str),
            task.priority.as_str(),
            task.due_on.to_string(),
            now,
        ])?;
    Ok(connection.last_insert_rowid())
}

fn check_owner(
    connection: &Connection,
    visibility: Visibility,
    owner_id: Option<UserId>,
) -> Result<()> {
    match owner_id {
        Some(owner) => super::team::check_user_reference(connection, visibility, owner, "owner_id"),
        None => Ok(()),
    }
}

pub(crate) fn create_task(
    connection: &Connection,
    access: &WriteAccess,
    task: NewTask,
) -> Result<Task> {
    accounts::get(connection, access.visibility(), task.account_id)
        .map_err(|_| Invalid::new("account_id", format!("no account {}", task.account_id)))?;
    check_owner(connection, access.visibility(), task.owner_id)?;
    let id = insert_task(connection, &task)?;
    get_task(connection, access.visibility(), id)
}

pub(crate) fn get_task(connection: &Connection, visibility: Visibility, id: i64) -> Result<Task> {
    let mut sql = Sql::new(TASK_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND t.id = ?", [Value::Integer(id)]);
    connection
        .prepare_cached(&sql.text)?
        .query_row(sql.params(), task_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { entity: "task" })
}

pub(crate) fn list_tasks(
    connection: &Connection,
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
    keyset.fetch(connection, sql, page, task_from_row, |t| {
        (serde_json::json!(t.due_on.to_string()), t.id)
    })
}

pub(crate) fn update_task(
    connection: &Connection,
    access: &WriteAccess,
    id: i64,
    patch: TaskPatch,
) -> Result<Task> {
    let mut task = get_task(connection, access.visibility(), id)?;
    if let Patch::Set(owner) = patch.owner_id {
        check_owner(connection, access.visibility(), Some(owner))?;
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
    connection.execute(
        "UPDATE tasks SET owner_id = ?2, priority = ?3, due_on = ?4, snoozed_until = ?5, outcome = ?6, note = ?7, \
         status = ?8, completed_at = ?9, updated_at = ?10 WHERE id = ?1",
        rusqlite::params![
            id,
            task.owner_id.map(UserId::get),
            task.priority.as_str(),
            task.due_on.to_string(),
            task.snoozed_until.map(|d| d.to_string()),
            task.outcome.as_ref().map(Text::as_str),
            task.note.as_ref().map(Text::as_str),
            task.status.as_str(),
            task.completed_at.map(row::instant),
            row::now(),
        ],
    )?;
    get_task(connection, access.visibility(), id)
}

// --- outbox -------------------------------------------------------------------

const MESSAGE_SELECT: &str = "SELECT id, idempotency_key, channel, account_id, contact_id, run_id, recipient, subject, body, format, \
     status, reason, attempts, next_attempt_at, last_error, created_at, sent_at FROM outbox WHERE 1=1";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        idempotency_key: row.get(1)?,
        channel: parsed(row, 2, Channel::parse)?,
        account_id: row.get::<_, Option<i64>>(3)?.map(AccountId::new),
        contact_id: row.get::<_, Option<i64>>(4)?.map(ContactId::new),
        run_id: row.get(5)?,
        recipient: row.get(6)?,
        subject: row.get(7)?,
        body: row.get(8)?,
        format: row.get(9)?,
        status: parsed(row, 10, MessageStatus::parse)?,
        reason: row.get(11)?,
        attempts: row.get(12)?,
        next_attempt_at: parsed(row, 13, row::timestamp)?,
        last_error: row.get(14)?,
        created_at: parsed(row, 15, row::timestamp)?,
        sent_at: parsed_opt(row, 16, row::timestamp)?,
    })
}

/// Queues a message; a message whose key is already queued is kept once.
pub(crate) fn insert_message(
    connection: &Connection,
    run_id: Option<i64>,
    message: &NewMessage,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO outbox (idempotency_key, channel, account_id, contact_id, run_id, recipient, subject, body, format, \
             status, reason, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )?
        .execute(rusqlite::params![
            message.idempotency_key,
            message.channel.as_str(),
            message.account_id.map(AccountId::get),
            message.contact_id.map(ContactId::get),
            run_id,
            message.recipient,
            message.subject,
            message.body,
            message.format,
            message.status.as_str(),
            message.reason,
            row::instant(message.not_before),
            row::now(),
        ])?;
    Ok(())
}

pub(crate) fn list_messages(
    connection: &Connection,
    status: Option<MessageStatus>,
) -> Result<Vec<Message>> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    if let Some(status) = status {
        sql.bind(" AND status = ?", [text(status)]);
    }
    sql.bind(" ORDER BY id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let messages = statement
        .query_map(sql.params(), message_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(messages)
}

/// Takes up to `limit` due messages for sending: pending ones due by `now`, and ones whose
/// sender's lease ran out (it died). Each gets a lease until `lease_until`.
pub(crate) fn claim_messages(
    connection: &Connection,
    now: jiff::Timestamp,
    lease_until: jiff::Timestamp,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    sql.bind(
        " AND status IN ('pending', 'sending') AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        [text(row::instant(now)), Value::Integer(i64::from(limit))],
    );
    let mut messages = connection
        .prepare_cached(&sql.text)?
        .query_map(sql.params(), message_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let lease = row::instant(lease_until);
    for message in &mut messages {
        connection.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
            rusqlite::params![message.id, lease],
        )?;
        message.status = MessageStatus::Sending;
        message.attempts += 1;
    }
    Ok(messages)
}

pub(crate) fn finish_message(connection: &Connection, id: i64, delivery: &Delivery) -> Result<()> {
    let changed = match delivery {
        Delivery::Sent { at } => connection.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
            rusqlite::params![id, row::instant(*at)],
        )?,
        Delivery::Retry { retry_at, error } => connection.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
            rusqlite::params![id, row::instant(*retry_at), error],
        )?,
        Delivery::Failed { error } => connection.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?2 WHERE id = ?1",
            rusqlite::params![id, error],
        )?,
        Delivery::Suppressed { reason } => connection.execute(
            "UPDATE outbox SET status = 'suppressed', reason = ?2 WHERE id = ?1",
            rusqlite::params![id, reason],
        )?,
    };
    if changed == 0 {
        return Err(StoreError::NotFound { entity: "message" });
    }
    Ok(())
}

/// Emails to one address written since an instant and not suppressed or failed.
pub(crate) fn emails_to_since(
    connection: &Connection,
    recipient: &str,
    since: jiff::Timestamp,
) -> Result<u64> {
    let count: i64 = connection
        .prepare_cached(
            "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND recipient = ?1 AND next_attempt_at >= ?2 \
             AND status IN ('pending', 'sending', 'sent')",
        )?
        .query_row(rusqlite::params![recipient, row::instant(since)], |row| {
            row.get(0)
        })?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(crate) fn unsubscribe(connection: &Connection, email: &str) -> Result<()> {
    connection.execute(
        "INSERT INTO unsubscribes (email, created_at) VALUES (?1, ?2) ON CONFLICT (email) DO NOTHING",
        rusqlite::params![email.to_lowercase(), row::now()],
    )?;
    connection.execute(
        "UPDATE outbox SET status = 'suppressed', reason = 'unsubscribed' \
         WHERE channel = 'email' AND lower(recipient) = ?1 AND status = 'pending'",
        [email.to_lowercase()],
    )?;
    Ok(())
}

pub(crate) fn is_unsubscribed(connection: &Connection, email: &str) -> Result<bool> {
    Ok(connection
        .query_row(
            "SELECT 1 FROM unsubscribes WHERE email = ?1",
            [email.to_lowercase()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

// --- changes and surveys ------------------------------------------------------

/// Records what changed between two versions of an account.
pub(crate) fn record_changes(
    connection: &Connection,
    before: &Account,
    after: &Account,
) -> Result<()> {
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
            record_change(connection, after.id, field, old, new)?;
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
            record_change(connection, after.id, &format!("custom.{key}"), old, new)?;
        }
    }
    Ok(())
}

pub(crate) fn record_change(
    connection: &Connection,
    account_id: AccountId,
    field: &str,
    old: Option<String>,
    new: Option<String>,
) -> Result<()> {
    record_change_at(connection, account_id, field, old, new, &row::now())
}

/// Records a change that happened at `at` (a stage entered on a past day).
pub(crate) fn record_change_at(
    connection: &Connection,
    account_id: AccountId,
    field: &str,
    old: Option<String>,
    new: Option<String>,
    at: &str,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO account_changes (account_id, field, old_value, new_value, changed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![account_id.get(), field, old, new, at])?;
    Ok(())
}

pub(crate) fn account_changes(
    connection: &Connection,
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
    let mut statement = connection.prepare_cached(&sql.text)?;
    let changes = statement
        .query_map(sql.params(), |row| {
            Ok(AccountChange {
                account_id: AccountId::new(row.get(0)?),
                field: row.get(1)?,
                old_value: row.get(2)?,
                new_value: row.get(3)?,
                changed_at: parsed(row, 4, row::timestamp)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(changes)
}

pub(crate) fn add_survey_response(
    connection: &Connection,
    access: &WriteAccess,
    response: NewSurveyResponse,
) -> Result<SurveyResponse> {
    accounts::get(connection, access.visibility(), response.account_id)
        .map_err(|_| Invalid::new("account_id", format!("no account {}", response.account_id)))?;
    let score = response.kind.check(response.score)?;
    connection.execute(
        "INSERT INTO survey_responses (account_id, contact_id, kind, score, comment, answered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            response.account_id.get(),
            response.contact_id.map(ContactId::get),
            response.kind.as_str(),
            score,
            response.comment.as_ref().map(Text::as_str),
            row::instant(response.answered_at),
        ],
    )?;
    Ok(SurveyResponse {
        id: connection.last_insert_rowid(),
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
    connection: &Connection,
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
    let mut statement = connection.prepare_cached(&sql.text)?;
    let responses = statement
        .query_map(sql.params(), |row| {
            Ok(SurveyResponse {
                id: row.get(0)?,
                account_id: AccountId::new(row.get(1)?),
                contact_id: row.get::<_, Option<i64>>(2)?.map(ContactId::new),
                kind: parsed(row, 3, SurveyKind::parse)?,
                score: row.get(4)?,
                comment: parsed_opt(row, 5, Text::parse)?,
                answered_at: parsed(row, 6, row::timestamp)?,
                experience_override: parsed_opt(row, 7, mikawaya_domain::voice::Experience::parse)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(responses)
}

// --- health snapshots ---------------------------------------------------------

/// Replaces a scorecard's snapshot of one day.
pub(crate) fn put_health(
    connection: &Connection,
    scorecard: &str,
    day: jiff::civil::Date,
    rows: &[HealthRow],
) -> Result<()> {
    connection.execute(
        "DELETE FROM health_scores WHERE scorecard = ?1 AND day = ?2",
        rusqlite::params![scorecard, day.to_string()],
    )?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO health_scores (scorecard, account_id, day, score, colour, measures, card, cards_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in rows {
        insert.execute(rusqlite::params![
            scorecard,
            row.account_id.get(),
            day.to_string(),
            row.score,
            row.colour,
            serde_json::to_string(&row.measures)
                .map_err(|e| StoreError::Corrupt(format!("health measures: {e}")))?,
            row.card,
            row.cards_version,
        ])?;
    }
    Ok(())
}

/// The days a scorecard has snapshots of, oldest first.
pub(crate) fn health_days(
    connection: &Connection,
    scorecard: &str,
) -> Result<Vec<jiff::civil::Date>> {
    let mut statement = connection.prepare_cached(
        "SELECT DISTINCT day FROM health_scores WHERE scorecard = ?1 ORDER BY day",
    )?;
    let days = statement
        .query_map([scorecard], |row| parsed(row, 0, row::date))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(days)
}

/// The latest snapshot day in a range (one index probe: `MAX` over the range).
pub(crate) fn latest_health_day(
    connection: &Connection,
    scorecard: &str,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Option<jiff::civil::Date>> {
    let day: Option<String> = connection.query_row(
        "SELECT MAX(day) FROM health_scores WHERE scorecard = ?1 AND day >= ?2 AND day <= ?3",
        rusqlite::params![scorecard, from.to_string(), to.to_string()],
        |row| row.get(0),
    )?;
    day.map(|raw| row::date(&raw).map_err(StoreError::from))
        .transpose()
}

/// Snapshot rows of visible accounts between two days (inclusive), of some accounts or
/// all, by account and day.
pub(crate) fn health_rows(
    connection: &Connection,
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
    let mut statement = connection.prepare_cached(&sql.text)?;
    let rows = statement
        .query_map(sql.params(), |row| {
            Ok(HealthRow {
                account_id: AccountId::new(row.get(0)?),
                day: parsed(row, 1, row::date)?,
                score: row.get(2)?,
                colour: row.get(3)?,
                measures: parsed(row, 4, row::json)?,
                card: row.get(5)?,
                cards_version: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

// --- metric series ------------------------------------------------------------

/// Replaces a metric's values of one day.
pub(crate) fn put_metric_values(
    connection: &Connection,
    metric: &str,
    day: jiff::civil::Date,
    values: &[(AccountId, Option<f64>)],
) -> Result<()> {
    connection.execute(
        "DELETE FROM metric_values WHERE metric = ?1 AND day = ?2",
        rusqlite::params![metric, day.to_string()],
    )?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO metric_values (metric, account_id, day, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (account, value) in values {
        insert.execute(rusqlite::params![
            metric,
            account.get(),
            day.to_string(),
            value
        ])?;
    }
    Ok(())
}

/// The days a metric has stored values of, oldest first.
pub(crate) fn metric_days(connection: &Connection, metric: &str) -> Result<Vec<jiff::civil::Date>> {
    let mut statement = connection
        .prepare_cached("SELECT DISTINCT day FROM metric_values WHERE metric = ?1 ORDER BY day")?;
    let days = statement
        .query_map([metric], |row| parsed(row, 0, row::date))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(days)
}

/// One visible account's stored values of a metric between two days, by day.
pub(crate) fn metric_series(
    connection: &Connection,
    visibility: Visibility,
    metric: &str,
    account: AccountId,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Vec<(jiff::civil::Date, Option<f64>)>> {
    let mut sql = Sql::new(
        "SELECT m.day, m.value FROM metric_values m JOIN accounts a ON a.id = m.account_id WHERE 1=1",
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
    let mut statement = connection.prepare_cached(&sql.text)?;
    let series = statement
        .query_map(sql.params(), |row| {
            Ok((parsed(row, 0, row::date)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(series)
}

// --- pulses -------------------------------------------------------------------

pub(crate) fn add_pulse(
    connection: &Connection,
    access: &WriteAccess,
    pulse: &crate::work::Pulse,
) -> Result<()> {
    accounts::get(connection, access.visibility(), pulse.account_id)?;
    if !(0..=100).contains(&pulse.score) {
        return Err(Invalid::new("score", "must be between 0 and 100").into());
    }
    if pulse.reason.trim().is_empty() {
        return Err(Invalid::new("reason", "a pulse needs a reason").into());
    }
    connection.execute(
        "INSERT INTO pulses (account_id, user_id, score, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            pulse.account_id.get(),
            pulse.user_id.map(UserId::get),
            pulse.score,
            pulse.reason.trim(),
            row::instant(pulse.created_at),
        ],
    )?;
    Ok(())
}

pub(crate) fn touch_times(
    connection: &Connection,
    visibility: Visibility,
) -> Result<Vec<(AccountId, jiff::Timestamp)>> {
    let mut sql = Sql::new(
        "SELECT t.account_id, t.occurred_at FROM touchpoints t JOIN accounts a ON a.id = t.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let times = statement
        .query_map(sql.params(), |row| {
            Ok((AccountId::new(row.get(0)?), parsed(row, 1, row::timestamp)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(times)
}

pub(crate) fn pulses(
    connection: &Connection,
    visibility: Visibility,
    accounts: Option<&[AccountId]>,
) -> Result<Vec<crate::work::Pulse>> {
    let mut sql = Sql::new(
        "SELECT p.account_id, p.user_id, p.score, p.reason, p.created_at FROM pulses p JOIN accounts a ON a.id = p.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    if let Some(accounts) = accounts {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        sql.account_in("p.account_id", accounts);
    }
    sql.bind(" ORDER BY p.created_at, p.id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let pulses = statement
        .query_map(sql.params(), |row| {
            Ok(crate::work::Pulse {
                account_id: AccountId::new(row.get(0)?),
                user_id: row.get::<_, Option<i64>>(1)?.map(UserId::new),
                score: row.get(2)?,
                reason: row.get(3)?,
                created_at: parsed(row, 4, row::timestamp)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(pulses)
}
