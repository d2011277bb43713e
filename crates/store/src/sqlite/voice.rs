//! The voice of the customer in SQLite: feedback items, feature requests with their history
//! and the loop closed in one transaction, the product tracker's deliveries, hosted surveys,
//! their sends and the answers given through them.

use super::row::{self, parsed, parsed_opt};
use super::sql::{Sql, opt_text, text};
use super::{accounts, children, work};
use crate::db::Value;
use crate::voice::{
    Answered, FeedbackChange, FeedbackFilter, LoopClosing, NewSend, RequestChange, RequestChanged,
    SendAnswer, Survey, SurveySend,
};
use crate::{Result, StoreError};
use mikawaya_domain::language::Language;
use mikawaya_domain::value::Text;
use mikawaya_domain::voice::{
    ChangeSource, Experience, FeatureRequest, FeedbackItem, FeedbackSource, NewFeedbackItem,
    RequestEvent, RequestStatus, SurveyChannel,
};
use mikawaya_domain::work::{SurveyKind, SurveyResponse};
use mikawaya_domain::{AccountId, ContactId, Invalid, UserId, Visibility};
use rusqlite::{Connection, OptionalExtension, Row};

// --- feedback items -------------------------------------------------------------

const ITEM_SELECT: &str = "SELECT f.id, f.account_id, f.contact_id, f.source, f.source_key, f.text, \
     f.experience_override, f.request_id, f.suggested_request_id, f.suggested_score, f.resolved_at, \
     f.created_by, f.created_at FROM feedback_items f JOIN accounts a ON a.id = f.account_id WHERE 1=1";

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<FeedbackItem> {
    let suggested: Option<i64> = r.get(8)?;
    let score: Option<f64> = r.get(9)?;
    Ok(FeedbackItem {
        id: r.get(0)?,
        account_id: AccountId::new(r.get(1)?),
        contact_id: r.get::<_, Option<i64>>(2)?.map(ContactId::new),
        source: parsed(r, 3, FeedbackSource::parse)?,
        source_key: r.get(4)?,
        text: parsed(r, 5, Text::parse)?,
        experience_override: parsed_opt(r, 6, Experience::parse)?,
        request_id: r.get(7)?,
        suggestion: suggested.zip(score),
        resolved_at: parsed_opt(r, 10, row::timestamp)?,
        created_by: r.get::<_, Option<i64>>(11)?.map(UserId::new),
        created_at: parsed(r, 12, row::timestamp)?,
    })
}

fn contact_of(connection: &Connection, account: AccountId, contact: ContactId) -> Result<()> {
    let owner: Option<i64> = connection
        .prepare_cached("SELECT account_id FROM contacts WHERE id = ?1")?
        .query_row([contact.get()], |r| r.get(0))
        .optional()?;
    if owner == Some(account.get()) {
        Ok(())
    } else {
        Err(Invalid::new(
            "contact_id",
            format!("no contact {contact} at this account"),
        )
        .into())
    }
}

pub(crate) fn add_feedback(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    items: &[NewFeedbackItem],
) -> Result<Vec<(FeedbackItem, bool)>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        accounts::get(connection, visibility, item.account_id)
            .map_err(|_| Invalid::new("account_id", format!("no account {}", item.account_id)))?;
        if let Some(contact) = item.contact_id {
            contact_of(connection, item.account_id, contact)?;
        }
        let at = row::instant(item.created_at.unwrap_or_else(jiff::Timestamp::now));
        let inserted = connection
            .prepare_cached(
                "INSERT INTO feedback_items (account_id, contact_id, source, source_key, text, created_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?
            .execute(rusqlite::params![
                item.account_id.get(),
                item.contact_id.map(ContactId::get),
                item.source.as_str(),
                item.source_key,
                item.text.as_str(),
                by.map(UserId::get),
                at
            ])?;
        let id: i64 = if inserted == 1 {
            connection.last_insert_rowid()
        } else {
            connection
                .prepare_cached(
                    "SELECT id FROM feedback_items WHERE source = ?1 AND source_key = ?2",
                )?
                .query_row(
                    rusqlite::params![item.source.as_str(), item.source_key],
                    |r| r.get(0),
                )?
        };
        out.push((get_feedback(connection, visibility, id)?, inserted == 1));
    }
    Ok(out)
}

pub(crate) fn feedback(
    connection: &Connection,
    visibility: Visibility,
    filter: &FeedbackFilter,
) -> Result<Vec<FeedbackItem>> {
    let mut sql = Sql::new(ITEM_SELECT);
    sql.visible("a", visibility);
    if let Some(account) = filter.account {
        sql.bind(" AND f.account_id = ?", [Value::Integer(account.get())]);
    }
    if let Some(request) = filter.request {
        sql.bind(" AND f.request_id = ?", [Value::Integer(request)]);
    }
    if filter.unmerged {
        sql.bind(" AND f.request_id IS NULL", []);
    }
    if let Some(since) = filter.since {
        sql.bind(" AND f.created_at >= ?", [text(row::instant(since))]);
    }
    if let Some(after) = filter.after_id {
        sql.bind(" AND f.id > ?", [Value::Integer(after)]);
    }
    sql.bind(" ORDER BY f.created_at DESC, f.id DESC", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let items = statement
        .query_map(sql.params(), item_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}

pub(crate) fn get_feedback(
    connection: &Connection,
    visibility: Visibility,
    id: i64,
) -> Result<FeedbackItem> {
    let mut sql = Sql::new(ITEM_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND f.id = ?", [Value::Integer(id)]);
    connection
        .prepare_cached(&sql.text)?
        .query_row(sql.params(), item_from_row)
        .optional()?
        .ok_or(StoreError::NotFound {
            entity: "feedback item",
        })
}

fn request_exists(connection: &Connection, id: i64, field: &str) -> Result<()> {
    let known: bool = connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM feature_requests WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if known {
        Ok(())
    } else {
        Err(Invalid::new(field, format!("no feature request {id}")).into())
    }
}

pub(crate) fn change_feedback(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    id: i64,
    change: &FeedbackChange,
) -> Result<FeedbackItem> {
    let before = get_feedback(connection, visibility, id)?;
    match change {
        FeedbackChange::Experience(experience) => {
            connection.execute(
                "UPDATE feedback_items SET experience_override = ?2, override_by = ?3 WHERE id = ?1",
                rusqlite::params![id, experience.map(Experience::as_str), by.map(UserId::get)],
            )?;
        }
        FeedbackChange::Request(request) => {
            if let Some(request) = request {
                request_exists(connection, *request, "request_id")?;
            }
            connection.execute(
                "UPDATE feedback_items SET request_id = ?2, suggested_request_id = NULL, suggested_score = NULL \
                 WHERE id = ?1",
                rusqlite::params![id, request],
            )?;
            let (kind, target) = match (before.request_id, request) {
                (_, Some(to)) => ("merge", Some(*to)),
                (Some(from), None) => ("split", Some(from)),
                (None, None) => ("split", None),
            };
            if let Some(target) = target {
                event(
                    connection,
                    target,
                    by,
                    ChangeSource::App,
                    kind,
                    &format!("item {id}"),
                )?;
                touch_request(connection, target)?;
            }
        }
        FeedbackChange::Suggest(suggestion) => {
            if let Some((request, _)) = suggestion {
                request_exists(connection, *request, "request_id")?;
            }
            connection.execute(
                "UPDATE feedback_items SET suggested_request_id = ?2, suggested_score = ?3 WHERE id = ?1",
                rusqlite::params![id, suggestion.map(|s| s.0), suggestion.map(|s| s.1)],
            )?;
        }
        FeedbackChange::Resolved(resolved) => {
            connection.execute(
                "UPDATE feedback_items SET resolved_at = CASE WHEN ?2 THEN COALESCE(resolved_at, ?3) END WHERE id = ?1",
                rusqlite::params![id, resolved, row::now()],
            )?;
        }
    }
    get_feedback(connection, visibility, id)
}

// --- feature requests -----------------------------------------------------------

const REQUEST_COLUMNS: &str = "r.id, r.title, r.status, r.issue_url, r.created_by, r.created_at, \
     r.updated_at, r.shipped_at, r.loop_closed_at";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<FeatureRequest> {
    Ok(FeatureRequest {
        id: r.get(0)?,
        title: parsed(r, 1, Text::parse)?,
        status: parsed(r, 2, RequestStatus::parse)?,
        issue_url: r.get(3)?,
        created_by: r.get::<_, Option<i64>>(4)?.map(UserId::new),
        created_at: parsed(r, 5, row::timestamp)?,
        updated_at: parsed(r, 6, row::timestamp)?,
        shipped_at: parsed_opt(r, 7, row::timestamp)?,
        loop_closed_at: parsed_opt(r, 8, row::timestamp)?,
    })
}

/// Requests the caller may see: every one, or a partner's those holding one of its items.
fn request_sql(visibility: Visibility) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {REQUEST_COLUMNS} FROM feature_requests r WHERE 1=1"
    ));
    if let Visibility::Partner(partner) = visibility {
        sql.bind(
            " AND EXISTS (SELECT 1 FROM feedback_items f JOIN accounts a ON a.id = f.account_id \
             WHERE f.request_id = r.id AND a.partner_id = ?)",
            [Value::Integer(partner.get())],
        );
    }
    sql
}

pub(crate) fn requests(
    connection: &Connection,
    visibility: Visibility,
) -> Result<Vec<FeatureRequest>> {
    let mut sql = request_sql(visibility);
    sql.bind(" ORDER BY r.id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let requests = statement
        .query_map(sql.params(), request_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(requests)
}

pub(crate) fn get_request(
    connection: &Connection,
    visibility: Visibility,
    id: i64,
) -> Result<FeatureRequest> {
    let mut sql = request_sql(visibility);
    sql.bind(" AND r.id = ?", [Value::Integer(id)]);
    connection
        .prepare_cached(&sql.text)?
        .query_row(sql.params(), request_from_row)
        .optional()?
        .ok_or(StoreError::NotFound {
            entity: "feature request",
        })
}

pub(crate) fn requests_by_issue(connection: &Connection, url: &str) -> Result<Vec<FeatureRequest>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM feature_requests r WHERE r.issue_url = ?1 ORDER BY r.id"
    ))?;
    let requests = statement
        .query_map([url], request_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(requests)
}

fn event(
    connection: &Connection,
    request: i64,
    by: Option<UserId>,
    source: ChangeSource,
    kind: &str,
    what: &str,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO request_events (request_id, at, actor_id, source, kind, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            request,
            row::now(),
            by.map(UserId::get),
            source.as_str(),
            kind,
            what
        ])?;
    Ok(())
}

fn touch_request(connection: &Connection, id: i64) -> Result<()> {
    connection.execute(
        "UPDATE feature_requests SET updated_at = ?2 WHERE id = ?1",
        rusqlite::params![id, row::now()],
    )?;
    Ok(())
}

pub(crate) fn create_request(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    title: &Text,
    items: &[i64],
    source: ChangeSource,
) -> Result<FeatureRequest> {
    for item in items {
        get_feedback(connection, visibility, *item)
            .map_err(|_| Invalid::new("items", format!("no feedback item {item}")))?;
    }
    let now = row::now();
    connection.execute(
        "INSERT INTO feature_requests (title, status, created_by, created_at, updated_at) VALUES (?1, 'under_review', ?2, ?3, ?3)",
        rusqlite::params![title.as_str(), by.map(UserId::get), now],
    )?;
    let id = connection.last_insert_rowid();
    let what = if items.is_empty() {
        title.as_str().to_owned()
    } else {
        format!("{} ({} items)", title.as_str(), items.len())
    };
    event(connection, id, by, source, "created", &what)?;
    for item in items {
        connection
            .prepare_cached(
                "UPDATE feedback_items SET request_id = ?2, suggested_request_id = NULL, suggested_score = NULL WHERE id = ?1",
            )?
            .execute(rusqlite::params![item, id])?;
    }
    get_request(connection, Visibility::All, id)
}

pub(crate) fn merge_requests(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    into: i64,
    from: i64,
) -> Result<FeatureRequest> {
    if into == from {
        return Err(Invalid::new("from", "a request cannot be merged into itself").into());
    }
    get_request(connection, Visibility::All, into)?;
    get_request(connection, Visibility::All, from)
        .map_err(|_| Invalid::new("from", format!("no feature request {from}")))?;
    if let Visibility::Partner(_) = visibility {
        return Err(StoreError::Forbidden("partners cannot merge requests"));
    }
    let moved = connection.execute(
        "UPDATE feedback_items SET request_id = ?1 WHERE request_id = ?2",
        rusqlite::params![into, from],
    )?;
    connection.execute(
        "UPDATE feedback_items SET suggested_request_id = ?1 WHERE suggested_request_id = ?2",
        rusqlite::params![into, from],
    )?;
    connection.execute("DELETE FROM feature_requests WHERE id = ?1", [from])?;
    event(
        connection,
        into,
        by,
        ChangeSource::App,
        "merge",
        &format!("request {from} ({moved} items)"),
    )?;
    touch_request(connection, into)?;
    get_request(connection, Visibility::All, into)
}

pub(crate) fn change_request(
    connection: &Connection,
    by: Option<UserId>,
    id: i64,
    change: &RequestChange,
    source: ChangeSource,
    closing: &LoopClosing,
) -> Result<RequestChanged> {
    let before = get_request(connection, Visibility::All, id)?;
    let mut changed = false;
    if let Some(title) = &change.title
        && title != &before.title
    {
        connection.execute(
            "UPDATE feature_requests SET title = ?2 WHERE id = ?1",
            rusqlite::params![id, title.as_str()],
        )?;
        event(connection, id, by, source, "title", title.as_str())?;
        changed = true;
    }
    if let Some(url) = &change.issue_url
        && url != &before.issue_url
    {
        connection.execute(
            "UPDATE feature_requests SET issue_url = ?2 WHERE id = ?1",
            rusqlite::params![id, url],
        )?;
        event(
            connection,
            id,
            by,
            source,
            "link",
            url.as_deref().unwrap_or(""),
        )?;
        changed = true;
    }
    let mut loop_closed = false;
    if let Some(status) = change.status
        && status != before.status
    {
        let now = change.at.map_or_else(row::now, row::instant);
        connection.execute(
            "UPDATE feature_requests SET status = ?2, \
             shipped_at = CASE WHEN ?2 = 'shipped' THEN COALESCE(shipped_at, ?3) ELSE shipped_at END WHERE id = ?1",
            rusqlite::params![id, status.as_str(), now],
        )?;
        event(connection, id, by, source, "status", status.as_str())?;
        changed = true;
        if status == RequestStatus::Shipped && before.loop_closed_at.is_none() {
            connection.execute(
                "UPDATE feedback_items SET resolved_at = COALESCE(resolved_at, ?2) WHERE request_id = ?1",
                rusqlite::params![id, now],
            )?;
            for message in &closing.messages {
                work::insert_message(connection, None, message)?;
            }
            for touchpoint in &closing.touchpoints {
                children::insert_touchpoint(connection, touchpoint)?;
            }
            connection.execute(
                "UPDATE feature_requests SET loop_closed_at = ?2 WHERE id = ?1",
                rusqlite::params![id, now],
            )?;
            event(
                connection,
                id,
                by,
                source,
                "loop_closed",
                &format!(
                    "{} emails, {} touchpoints",
                    closing.messages.len(),
                    closing.touchpoints.len()
                ),
            )?;
            loop_closed = true;
        }
    }
    if changed {
        connection.execute(
            "UPDATE feature_requests SET updated_at = ?2 WHERE id = ?1",
            rusqlite::params![id, change.at.map_or_else(row::now, row::instant)],
        )?;
    }
    Ok(RequestChanged {
        request: get_request(connection, Visibility::All, id)?,
        changed,
        loop_closed,
    })
}

pub(crate) fn request_events(
    connection: &Connection,
    visibility: Visibility,
    id: i64,
) -> Result<Vec<RequestEvent>> {
    get_request(connection, visibility, id)?;
    let mut statement = connection.prepare_cached(
        "SELECT at, actor_id, source, kind, text FROM request_events WHERE request_id = ?1 ORDER BY id",
    )?;
    let events = statement
        .query_map([id], |r| {
            Ok(RequestEvent {
                at: parsed(r, 0, row::timestamp)?,
                actor_id: r.get::<_, Option<i64>>(1)?.map(UserId::new),
                source: r.get(2)?,
                kind: r.get(3)?,
                text: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(events)
}

pub(crate) fn record_delivery(
    connection: &Connection,
    delivery: &str,
    outcome: &str,
) -> Result<bool> {
    let inserted = connection.execute(
        "INSERT INTO webhook_deliveries (delivery_id, received_at, outcome) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        rusqlite::params![delivery, row::now(), outcome],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn set_answer_experience(
    connection: &Connection,
    visibility: Visibility,
    by: Option<UserId>,
    response: i64,
    experience: Option<Experience>,
) -> Result<()> {
    let account: Option<i64> = connection
        .prepare_cached("SELECT account_id FROM survey_responses WHERE id = ?1")?
        .query_row([response], |r| r.get(0))
        .optional()?;
    let visible = match account {
        Some(account) => accounts::get(connection, visibility, AccountId::new(account)).is_ok(),
        None => false,
    };
    if !visible {
        return Err(StoreError::NotFound {
            entity: "survey answer",
        });
    }
    connection.execute(
        "UPDATE survey_responses SET experience_override = ?2, override_by = ?3 WHERE id = ?1",
        rusqlite::params![
            response,
            experience.map(Experience::as_str),
            by.map(UserId::get)
        ],
    )?;
    Ok(())
}

// --- surveys and sends ----------------------------------------------------------

fn survey_from_row(r: &Row<'_>) -> rusqlite::Result<Survey> {
    Ok(Survey {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: parsed(r, 2, SurveyKind::parse)?,
        body: r.get(3)?,
        active: r.get(4)?,
    })
}

pub(crate) fn put_survey(
    connection: &Connection,
    by: Option<UserId>,
    name: &str,
    kind: SurveyKind,
    body: &str,
    active: bool,
) -> Result<Survey> {
    let now = row::now();
    connection.execute(
        "INSERT INTO surveys (name, kind, body, active, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, body = excluded.body, active = excluded.active, \
         updated_at = excluded.updated_at",
        rusqlite::params![name, kind.as_str(), body, active, by.map(UserId::get), now],
    )?;
    connection
        .prepare_cached("SELECT id, name, kind, body, active FROM surveys WHERE name = ?1")?
        .query_row([name], survey_from_row)
        .map_err(Into::into)
}

pub(crate) fn surveys(connection: &Connection) -> Result<Vec<Survey>> {
    let mut statement = connection
        .prepare_cached("SELECT id, name, kind, body, active FROM surveys ORDER BY name")?;
    let surveys = statement
        .query_map([], survey_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(surveys)
}

const SEND_COLUMNS: &str = "s.id, s.survey_id, s.account_id, s.contact_id, s.channel, s.language, \
     s.sent_at, s.expires_at, s.response_id, s.answered_at";

fn send_from_row(r: &Row<'_>) -> rusqlite::Result<SurveySend> {
    let language: String = r.get(5)?;
    Ok(SurveySend {
        id: r.get(0)?,
        survey_id: r.get(1)?,
        account_id: AccountId::new(r.get(2)?),
        contact_id: ContactId::new(r.get(3)?),
        channel: parsed(r, 4, SurveyChannel::parse)?,
        language: Language::of_tag(&language),
        sent_at: parsed(r, 6, row::timestamp)?,
        expires_at: parsed(r, 7, row::timestamp)?,
        response_id: r.get(8)?,
        answered_at: parsed_opt(r, 9, row::timestamp)?,
    })
}

pub(crate) fn create_sends(
    connection: &Connection,
    visibility: Visibility,
    sends: &[NewSend],
) -> Result<Vec<SurveySend>> {
    let mut out = Vec::with_capacity(sends.len());
    for send in sends {
        accounts::get(connection, visibility, send.account_id)
            .map_err(|_| Invalid::new("account_id", format!("no account {}", send.account_id)))?;
        contact_of(connection, send.account_id, send.contact_id)?;
        let id = insert_send(connection, None, send)?;
        out.push(
            connection
                .prepare_cached(&format!(
                    "SELECT {SEND_COLUMNS} FROM survey_sends s WHERE s.id = ?1"
                ))?
                .query_row([id], send_from_row)?,
        );
    }
    Ok(out)
}

/// Inserts a send (once per token) with its email; returns its id.
pub(crate) fn insert_send(
    connection: &Connection,
    run_id: Option<i64>,
    send: &NewSend,
) -> Result<i64> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO survey_sends (survey_id, account_id, contact_id, channel, language, token_hash, sent_at, expires_at, run_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (token_hash) DO NOTHING",
        )?
        .execute(rusqlite::params![
            send.survey_id,
            send.account_id.get(),
            send.contact_id.get(),
            send.channel.as_str(),
            send.language.code(),
            send.token_hash,
            row::instant(send.sent_at),
            row::instant(send.expires_at),
            run_id,
        ])?;
    if inserted == 1
        && let Some(message) = &send.message
    {
        work::insert_message(connection, run_id, message)?;
    }
    Ok(connection
        .prepare_cached("SELECT id FROM survey_sends WHERE token_hash = ?1")?
        .query_row([&send.token_hash], |r| r.get(0))?)
}

pub(crate) fn survey_sends(
    connection: &Connection,
    visibility: Visibility,
    since: jiff::Timestamp,
) -> Result<Vec<SurveySend>> {
    let mut sql = Sql::new(&format!(
        "SELECT {SEND_COLUMNS} FROM survey_sends s JOIN accounts a ON a.id = s.account_id WHERE 1=1"
    ));
    sql.visible("a", visibility);
    sql.bind(
        " AND s.sent_at >= ? ORDER BY s.sent_at, s.id",
        [text(row::instant(since))],
    );
    let mut statement = connection.prepare_cached(&sql.text)?;
    let sends = statement
        .query_map(sql.params(), send_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(sends)
}

pub(crate) fn open_send(
    connection: &Connection,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<SurveySend>> {
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {SEND_COLUMNS} FROM survey_sends s WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        ))?
        .query_row(rusqlite::params![token_hash, row::instant(now)], send_from_row)
        .optional()?)
}

pub(crate) fn answer_send(
    connection: &Connection,
    token_hash: &str,
    answer: &SendAnswer,
) -> Result<Option<Answered>> {
    let Some(send) = open_send(connection, token_hash, answer.at)? else {
        return Ok(None);
    };
    let kind: String = connection
        .prepare_cached("SELECT kind FROM surveys WHERE id = ?1")?
        .query_row([send.survey_id], |r| r.get(0))?;
    let kind = SurveyKind::parse(&kind)?;
    let score = kind.check(answer.score)?;
    let at = row::instant(answer.at);
    let response = |id: i64| SurveyResponse {
        id,
        account_id: send.account_id,
        contact_id: Some(send.contact_id),
        kind,
        score,
        comment: answer.comment.clone(),
        answered_at: answer.at,
        experience_override: None,
    };
    match (send.response_id, send.answered_at) {
        (Some(id), Some(first)) => {
            if answer.at > first + answer.edit_window {
                return Ok(Some(Answered::Closed));
            }
            connection.execute(
                "UPDATE survey_responses SET score = ?2, comment = ?3, answers = ?4, answered_at = ?5 WHERE id = ?1",
                rusqlite::params![
                    id,
                    score,
                    opt_text(answer.comment.as_ref()),
                    answer.answers,
                    at
                ],
            )?;
            let key = id.to_string();
            match &answer.comment {
                Some(comment) => {
                    connection.execute(
                        "UPDATE feedback_items SET text = ?2 WHERE source = 'survey' AND source_key = ?1",
                        rusqlite::params![key, comment.as_str()],
                    )?;
                }
                None => {
                    connection.execute(
                        "DELETE FROM feedback_items WHERE source = 'survey' AND source_key = ?1",
                        [key],
                    )?;
                }
            }
            Ok(Some(Answered::Replaced(response(id))))
        }
        _ => {
            connection.execute(
                "INSERT INTO survey_responses (account_id, contact_id, kind, score, comment, answered_at, send_id, answers) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    send.account_id.get(),
                    send.contact_id.get(),
                    kind.as_str(),
                    score,
                    opt_text(answer.comment.as_ref()),
                    at,
                    send.id,
                    answer.answers
                ],
            )?;
            let id = connection.last_insert_rowid();
            connection.execute(
                "UPDATE survey_sends SET response_id = ?2, answered_at = ?3 WHERE id = ?1",
                rusqlite::params![send.id, id, at],
            )?;
            Ok(Some(Answered::New(response(id))))
        }
    }
}

pub(crate) fn record_past_sends(
    connection: &Connection,
    visibility: Visibility,
    rows: &[crate::voice::PastSend],
) -> Result<usize> {
    for row in rows {
        accounts::get(connection, visibility, row.send.account_id).map_err(|_| {
            Invalid::new("account_id", format!("no account {}", row.send.account_id))
        })?;
        let mut send = row.send.clone();
        send.message = None;
        let id = insert_send(connection, None, &send)?;
        if let Some(answer) = &row.answer {
            let score = answer.kind.check(answer.score)?;
            let at = row::instant(answer.answered_at);
            connection
                .prepare_cached(
                    "INSERT INTO survey_responses (account_id, contact_id, kind, score, comment, answered_at, send_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(rusqlite::params![
                    answer.account_id.get(),
                    answer.contact_id.map(ContactId::get),
                    answer.kind.as_str(),
                    score,
                    opt_text(answer.comment.as_ref()),
                    at,
                    id
                ])?;
            let response = connection.last_insert_rowid();
            connection
                .prepare_cached(
                    "UPDATE survey_sends SET response_id = ?2, answered_at = ?3 WHERE id = ?1",
                )?
                .execute(rusqlite::params![id, response, at])?;
        }
    }
    Ok(rows.len())
}
