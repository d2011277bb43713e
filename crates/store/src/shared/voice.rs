//! The voice of the customer in SQLite: feedback items, feature requests with their history
//! and the loop closed in one transaction, the product tracker's deliveries, hosted surveys,
//! their sends and the answers given through them.

use super::row;
use super::sql::{Sql, opt_text, text};
use super::{accounts, children, work};
use crate::db::Value;
use crate::db::{Db, Row};
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

// --- feedback items -------------------------------------------------------------

const ITEM_SELECT: &str = "SELECT f.id, f.account_id, f.contact_id, f.source, f.source_key, f.text, \
     f.experience_override, f.request_id, f.suggested_request_id, f.suggested_score, f.resolved_at, \
     f.created_by, f.created_at FROM feedback_items f JOIN accounts a ON a.id = f.account_id WHERE 1=1";

fn item_from_row(r: &Row<'_>) -> Result<FeedbackItem> {
    let suggested: Option<i64> = r.get(8)?;
    let score: Option<f64> = r.get(9)?;
    Ok(FeedbackItem {
        id: r.get(0)?,
        account_id: AccountId::new(r.get(1)?),
        contact_id: r.get::<Option<i64>>(2)?.map(ContactId::new),
        source: r.parsed(3, FeedbackSource::parse)?,
        source_key: r.get(4)?,
        text: r.parsed(5, Text::parse)?,
        experience_override: r.parsed_opt(6, Experience::parse)?,
        request_id: r.get(7)?,
        suggestion: suggested.zip(score),
        resolved_at: r.parsed_opt(10, row::timestamp)?,
        created_by: r.get::<Option<i64>>(11)?.map(UserId::new),
        created_at: r.parsed(12, row::timestamp)?,
    })
}

fn contact_of(db: &Db<'_>, account: AccountId, contact: ContactId) -> Result<()> {
    let owner: Option<i64> = db.query_opt(
        "SELECT account_id FROM contacts WHERE id = ?1",
        &[contact.get().into()],
        |r| r.get(0),
    )?;
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
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    items: &[NewFeedbackItem],
) -> Result<Vec<(FeedbackItem, bool)>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        accounts::get(db, visibility, item.account_id)
            .map_err(|_| Invalid::new("account_id", format!("no account {}", item.account_id)))?;
        if let Some(contact) = item.contact_id {
            contact_of(db, item.account_id, contact)?;
        }
        let at = row::instant(item.created_at.unwrap_or_else(jiff::Timestamp::now));
        let inserted: Option<i64> = db.query_opt("INSERT INTO feedback_items (account_id, contact_id, source, source_key, text, created_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING RETURNING id", &[item.account_id.get().into(), item.contact_id.map(ContactId::get).into(), item.source.as_str().into(), (&item.source_key).into(), item.text.as_str().into(), by.map(UserId::get).into(), (&at).into()], |r| r.get(0))?;
        let id: i64 = match inserted {
            Some(id) => id,
            None => db.query_one(
                "SELECT id FROM feedback_items WHERE source = ?1 AND source_key = ?2",
                &[item.source.as_str().into(), (&item.source_key).into()],
                |r| r.get(0),
            )?,
        };
        out.push((get_feedback(db, visibility, id)?, inserted.is_some()));
    }
    Ok(out)
}

pub(crate) fn feedback(
    db: &Db<'_>,
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
    let statement = &sql.text;
    let items = db.query_map(statement, &sql.params, item_from_row)?;
    Ok(items)
}

pub(crate) fn get_feedback(db: &Db<'_>, visibility: Visibility, id: i64) -> Result<FeedbackItem> {
    let mut sql = Sql::new(ITEM_SELECT);
    sql.visible("a", visibility);
    sql.bind(" AND f.id = ?", [Value::Integer(id)]);
    db.query_opt(&sql.text, &sql.params, item_from_row)?
        .ok_or(StoreError::NotFound {
            entity: "feedback item",
        })
}

fn request_exists(db: &Db<'_>, id: i64, field: &str) -> Result<()> {
    let known: bool = db.query_one(
        "SELECT EXISTS (SELECT 1 FROM feature_requests WHERE id = ?1)",
        &[id.into()],
        |r| r.get(0),
    )?;
    if known {
        Ok(())
    } else {
        Err(Invalid::new(field, format!("no feature request {id}")).into())
    }
}

pub(crate) fn change_feedback(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    id: i64,
    change: &FeedbackChange,
) -> Result<FeedbackItem> {
    let before = get_feedback(db, visibility, id)?;
    match change {
        FeedbackChange::Experience(experience) => {
            db.execute(
                "UPDATE feedback_items SET experience_override = ?2, override_by = ?3 \
                 WHERE id = ?1",
                &[
                    id.into(),
                    experience.map(Experience::as_str).into(),
                    by.map(UserId::get).into(),
                ],
            )?;
        }
        FeedbackChange::Request(request) => {
            if let Some(request) = request {
                request_exists(db, *request, "request_id")?;
            }
            db.execute("UPDATE feedback_items SET request_id = ?2, suggested_request_id = NULL, suggested_score = NULL \
                 WHERE id = ?1", &[id.into(), request.into()])?;
            let (kind, target) = match (before.request_id, request) {
                (_, Some(to)) => ("merge", Some(*to)),
                (Some(from), None) => ("split", Some(from)),
                (None, None) => ("split", None),
            };
            if let Some(target) = target {
                event(
                    db,
                    target,
                    by,
                    ChangeSource::App,
                    kind,
                    &format!("item {id}"),
                )?;
                touch_request(db, target)?;
            }
        }
        FeedbackChange::Suggest(suggestion) => {
            if let Some((request, _)) = suggestion {
                request_exists(db, *request, "request_id")?;
            }
            db.execute(
                "UPDATE feedback_items SET suggested_request_id = ?2, suggested_score = \
                 ?3 WHERE id = ?1",
                &[
                    id.into(),
                    suggestion.map(|s| s.0).into(),
                    suggestion.map(|s| s.1).into(),
                ],
            )?;
        }
        FeedbackChange::Resolved(resolved) => {
            db.execute(
                "UPDATE feedback_items SET resolved_at = CASE WHEN ?2 = 1 THEN \
                 COALESCE(resolved_at, ?3) END WHERE id = ?1",
                &[id.into(), resolved.into(), row::now().into()],
            )?;
        }
    }
    get_feedback(db, visibility, id)
}

// --- feature requests -----------------------------------------------------------

const REQUEST_COLUMNS: &str = "r.id, r.title, r.status, r.issue_url, r.created_by, r.created_at, \
     r.updated_at, r.shipped_at, r.loop_closed_at";

fn request_from_row(r: &Row<'_>) -> Result<FeatureRequest> {
    Ok(FeatureRequest {
        id: r.get(0)?,
        title: r.parsed(1, Text::parse)?,
        status: r.parsed(2, RequestStatus::parse)?,
        issue_url: r.get(3)?,
        created_by: r.get::<Option<i64>>(4)?.map(UserId::new),
        created_at: r.parsed(5, row::timestamp)?,
        updated_at: r.parsed(6, row::timestamp)?,
        shipped_at: r.parsed_opt(7, row::timestamp)?,
        loop_closed_at: r.parsed_opt(8, row::timestamp)?,
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

pub(crate) fn requests(db: &Db<'_>, visibility: Visibility) -> Result<Vec<FeatureRequest>> {
    let mut sql = request_sql(visibility);
    sql.bind(" ORDER BY r.id", []);
    let statement = &sql.text;
    let requests = db.query_map(statement, &sql.params, request_from_row)?;
    Ok(requests)
}

pub(crate) fn get_request(db: &Db<'_>, visibility: Visibility, id: i64) -> Result<FeatureRequest> {
    let mut sql = request_sql(visibility);
    sql.bind(" AND r.id = ?", [Value::Integer(id)]);
    db.query_opt(&sql.text, &sql.params, request_from_row)?
        .ok_or(StoreError::NotFound {
            entity: "feature request",
        })
}

pub(crate) fn requests_by_issue(db: &Db<'_>, url: &str) -> Result<Vec<FeatureRequest>> {
    let statement = &format!(
        "SELECT {REQUEST_COLUMNS} FROM feature_requests r WHERE r.issue_url = ?1 ORDER BY r.id"
    );
    let requests = db.query_map(statement, &[url.into()], request_from_row)?;
    Ok(requests)
}

fn event(
    db: &Db<'_>,
    request: i64,
    by: Option<UserId>,
    source: ChangeSource,
    kind: &str,
    what: &str,
) -> Result<()> {
    db.execute(
        "INSERT INTO request_events (request_id, at, actor_id, source, kind, \
         text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            request.into(),
            row::now().into(),
            by.map(UserId::get).into(),
            source.as_str().into(),
            kind.into(),
            what.into(),
        ],
    )?;
    Ok(())
}

fn touch_request(db: &Db<'_>, id: i64) -> Result<()> {
    db.execute(
        "UPDATE feature_requests SET updated_at = ?2 WHERE id = ?1",
        &[id.into(), row::now().into()],
    )?;
    Ok(())
}

pub(crate) fn create_request(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    title: &Text,
    items: &[i64],
    source: ChangeSource,
) -> Result<FeatureRequest> {
    for item in items {
        get_feedback(db, visibility, *item)
            .map_err(|_| Invalid::new("items", format!("no feedback item {item}")))?;
    }
    let now = row::now();
    let id: i64 = db.query_one(
        "INSERT INTO feature_requests (title, status, created_by, created_at, \
         updated_at) VALUES (?1, 'under_review', ?2, ?3, ?3) RETURNING id",
        &[
            title.as_str().into(),
            by.map(UserId::get).into(),
            (&now).into(),
        ],
        |r| r.get(0),
    )?;
    let what = if items.is_empty() {
        title.as_str().to_owned()
    } else {
        format!("{} ({} items)", title.as_str(), items.len())
    };
    event(db, id, by, source, "created", &what)?;
    for item in items {
        db.execute(
            "UPDATE feedback_items SET request_id = ?2, suggested_request_id = NULL, \
             suggested_score = NULL WHERE id = ?1",
            &[item.into(), id.into()],
        )?;
    }
    get_request(db, Visibility::All, id)
}

pub(crate) fn merge_requests(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    into: i64,
    from: i64,
) -> Result<FeatureRequest> {
    if into == from {
        return Err(Invalid::new("from", "a request cannot be merged into itself").into());
    }
    get_request(db, Visibility::All, into)?;
    get_request(db, Visibility::All, from)
        .map_err(|_| Invalid::new("from", format!("no feature request {from}")))?;
    if let Visibility::Partner(_) = visibility {
        return Err(StoreError::Forbidden("partners cannot merge requests"));
    }
    let moved = db.execute(
        "UPDATE feedback_items SET request_id = ?1 WHERE request_id = ?2",
        &[into.into(), from.into()],
    )?;
    db.execute(
        "UPDATE feedback_items SET suggested_request_id = ?1 WHERE suggested_request_id = ?2",
        &[into.into(), from.into()],
    )?;
    db.execute("DELETE FROM feature_requests WHERE id = ?1", &[from.into()])?;
    event(
        db,
        into,
        by,
        ChangeSource::App,
        "merge",
        &format!("request {from} ({moved} items)"),
    )?;
    touch_request(db, into)?;
    get_request(db, Visibility::All, into)
}

pub(crate) fn change_request(
    db: &Db<'_>,
    by: Option<UserId>,
    id: i64,
    change: &RequestChange,
    source: ChangeSource,
    closing: &LoopClosing,
) -> Result<RequestChanged> {
    let before = get_request(db, Visibility::All, id)?;
    let mut changed = false;
    if let Some(title) = &change.title
        && title != &before.title
    {
        db.execute(
            "UPDATE feature_requests SET title = ?2 WHERE id = ?1",
            &[id.into(), title.as_str().into()],
        )?;
        event(db, id, by, source, "title", title.as_str())?;
        changed = true;
    }
    if let Some(url) = &change.issue_url
        && url != &before.issue_url
    {
        db.execute(
            "UPDATE feature_requests SET issue_url = ?2 WHERE id = ?1",
            &[id.into(), url.into()],
        )?;
        event(db, id, by, source, "link", url.as_deref().unwrap_or(""))?;
        changed = true;
    }
    let mut loop_closed = false;
    if let Some(status) = change.status
        && status != before.status
    {
        let now = change.at.map_or_else(row::now, row::instant);
        db.execute("UPDATE feature_requests SET status = ?2, \
             shipped_at = CASE WHEN ?2 = 'shipped' THEN COALESCE(shipped_at, ?3) ELSE shipped_at END WHERE id = ?1", &[id.into(), status.as_str().into(), (&now).into()])?;
        event(db, id, by, source, "status", status.as_str())?;
        changed = true;
        if status == RequestStatus::Shipped && before.loop_closed_at.is_none() {
            db.execute(
                "UPDATE feedback_items SET resolved_at = COALESCE(resolved_at, ?2) WHERE \
                 request_id = ?1",
                &[id.into(), (&now).into()],
            )?;
            for message in &closing.messages {
                work::insert_message(db, None, message)?;
            }
            for touchpoint in &closing.touchpoints {
                children::insert_touchpoint(db, touchpoint)?;
            }
            db.execute(
                "UPDATE feature_requests SET loop_closed_at = ?2 WHERE id = ?1",
                &[id.into(), (&now).into()],
            )?;
            event(
                db,
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
        db.execute(
            "UPDATE feature_requests SET updated_at = ?2 WHERE id = ?1",
            &[
                id.into(),
                change.at.map_or_else(row::now, row::instant).into(),
            ],
        )?;
    }
    Ok(RequestChanged {
        request: get_request(db, Visibility::All, id)?,
        changed,
        loop_closed,
    })
}

pub(crate) fn request_events(
    db: &Db<'_>,
    visibility: Visibility,
    id: i64,
) -> Result<Vec<RequestEvent>> {
    get_request(db, visibility, id)?;
    let statement = "SELECT at, actor_id, source, kind, text FROM request_events WHERE \
         request_id = ?1 ORDER BY id";
    let events = db.query_map(statement, &[id.into()], |r| {
        Ok(RequestEvent {
            at: r.parsed(0, row::timestamp)?,
            actor_id: r.get::<Option<i64>>(1)?.map(UserId::new),
            source: r.get(2)?,
            kind: r.get(3)?,
            text: r.get(4)?,
        })
    })?;
    Ok(events)
}

pub(crate) fn record_delivery(db: &Db<'_>, delivery: &str, outcome: &str) -> Result<bool> {
    let inserted = db.execute(
        "INSERT INTO webhook_deliveries (delivery_id, received_at, outcome) \
         VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        &[delivery.into(), row::now().into(), outcome.into()],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn set_answer_experience(
    db: &Db<'_>,
    visibility: Visibility,
    by: Option<UserId>,
    response: i64,
    experience: Option<Experience>,
) -> Result<()> {
    let account: Option<i64> = db.query_opt(
        "SELECT account_id FROM survey_responses WHERE id = ?1",
        &[response.into()],
        |r| r.get(0),
    )?;
    let visible = match account {
        Some(account) => accounts::get(db, visibility, AccountId::new(account)).is_ok(),
        None => false,
    };
    if !visible {
        return Err(StoreError::NotFound {
            entity: "survey answer",
        });
    }
    db.execute(
        "UPDATE survey_responses SET experience_override = ?2, override_by = ?3 WHERE id = ?1",
        &[
            response.into(),
            experience.map(Experience::as_str).into(),
            by.map(UserId::get).into(),
        ],
    )?;
    Ok(())
}

// --- surveys and sends ----------------------------------------------------------

fn survey_from_row(r: &Row<'_>) -> Result<Survey> {
    Ok(Survey {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.parsed(2, SurveyKind::parse)?,
        body: r.get(3)?,
        active: r.get(4)?,
    })
}

pub(crate) fn put_survey(
    db: &Db<'_>,
    by: Option<UserId>,
    name: &str,
    kind: SurveyKind,
    body: &str,
    active: bool,
) -> Result<Survey> {
    let now = row::now();
    db.execute("INSERT INTO surveys (name, kind, body, active, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, body = excluded.body, active = excluded.active, \
         updated_at = excluded.updated_at", &[name.into(), kind.as_str().into(), body.into(), active.into(), by.map(UserId::get).into(), (&now).into()])?;
    db.query_one(
        "SELECT id, name, kind, body, active FROM surveys WHERE name = ?1",
        &[name.into()],
        survey_from_row,
    )
}

pub(crate) fn surveys(db: &Db<'_>) -> Result<Vec<Survey>> {
    let statement = "SELECT id, name, kind, body, active FROM surveys ORDER BY name";
    let surveys = db.query_map(statement, &[], survey_from_row)?;
    Ok(surveys)
}

const SEND_COLUMNS: &str = "s.id, s.survey_id, s.account_id, s.contact_id, s.channel, s.language, \
     s.sent_at, s.expires_at, s.response_id, s.answered_at";

fn send_from_row(r: &Row<'_>) -> Result<SurveySend> {
    let language: String = r.get(5)?;
    Ok(SurveySend {
        id: r.get(0)?,
        survey_id: r.get(1)?,
        account_id: AccountId::new(r.get(2)?),
        contact_id: ContactId::new(r.get(3)?),
        channel: r.parsed(4, SurveyChannel::parse)?,
        language: Language::of_tag(&language),
        sent_at: r.parsed(6, row::timestamp)?,
        expires_at: r.parsed(7, row::timestamp)?,
        response_id: r.get(8)?,
        answered_at: r.parsed_opt(9, row::timestamp)?,
    })
}

pub(crate) fn create_sends(
    db: &Db<'_>,
    visibility: Visibility,
    sends: &[NewSend],
) -> Result<Vec<SurveySend>> {
    let mut out = Vec::with_capacity(sends.len());
    for send in sends {
        accounts::get(db, visibility, send.account_id)
            .map_err(|_| Invalid::new("account_id", format!("no account {}", send.account_id)))?;
        contact_of(db, send.account_id, send.contact_id)?;
        let id = insert_send(db, None, send)?;
        out.push(db.query_one(
            &format!("SELECT {SEND_COLUMNS} FROM survey_sends s WHERE s.id = ?1"),
            &[id.into()],
            send_from_row,
        )?);
    }
    Ok(out)
}

/// Inserts a send (once per token) with its email; returns its id.
pub(crate) fn insert_send(db: &Db<'_>, run_id: Option<i64>, send: &NewSend) -> Result<i64> {
    let inserted = db.execute("INSERT INTO survey_sends (survey_id, account_id, contact_id, channel, language, token_hash, sent_at, expires_at, run_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (token_hash) DO NOTHING", &[send.survey_id.into(), send.account_id.get().into(), send.contact_id.get().into(), send.channel.as_str().into(), send.language.code().into(), (&send.token_hash).into(), row::instant(send.sent_at).into(), row::instant(send.expires_at).into(), run_id.into()])?;
    if inserted == 1
        && let Some(message) = &send.message
    {
        work::insert_message(db, run_id, message)?;
    }
    db.query_one(
        "SELECT id FROM survey_sends WHERE token_hash = ?1",
        &[(&send.token_hash).into()],
        |r| r.get(0),
    )
}

pub(crate) fn survey_sends(
    db: &Db<'_>,
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
    let statement = &sql.text;
    let sends = db.query_map(statement, &sql.params, send_from_row)?;
    Ok(sends)
}

pub(crate) fn open_send(
    db: &Db<'_>,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<SurveySend>> {
    db.query_opt(
        &format!(
            "SELECT {SEND_COLUMNS} FROM survey_sends s WHERE s.token_hash = ?1 AND \
                 s.expires_at > ?2"
        ),
        &[token_hash.into(), row::instant(now).into()],
        send_from_row,
    )
}

pub(crate) fn answer_send(
    db: &Db<'_>,
    token_hash: &str,
    answer: &SendAnswer,
) -> Result<Option<Answered>> {
    let Some(send) = open_send(db, token_hash, answer.at)? else {
        return Ok(None);
    };
    let kind: String = db.query_one(
        "SELECT kind FROM surveys WHERE id = ?1",
        &[send.survey_id.into()],
        |r| r.get(0),
    )?;
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
            db.execute(
                "UPDATE survey_responses SET score = ?2, comment = ?3, answers = ?4, \
                 answered_at = ?5 WHERE id = ?1",
                &[
                    id.into(),
                    score.into(),
                    opt_text(answer.comment.as_ref()),
                    (&answer.answers).into(),
                    (&at).into(),
                ],
            )?;
            let key = id.to_string();
            match &answer.comment {
                Some(comment) => {
                    db.execute(
                        "UPDATE feedback_items SET text = ?2 WHERE source = 'survey' AND \
                         source_key = ?1",
                        &[(&key).into(), comment.as_str().into()],
                    )?;
                }
                None => {
                    db.execute(
                        "DELETE FROM feedback_items WHERE source = 'survey' AND source_key = ?1",
                        &[(&key).into()],
                    )?;
                }
            }
            Ok(Some(Answered::Replaced(response(id))))
        }
        _ => {
            let id: i64 = db.query_one("INSERT INTO survey_responses (account_id, contact_id, kind, score, comment, answered_at, send_id, answers) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id", &[send.account_id.get().into(), send.contact_id.get().into(), kind.as_str().into(), score.into(), opt_text(answer.comment.as_ref()), (&at).into(), send.id.into(), (&answer.answers).into()], |r| r.get(0))?;
            db.execute(
                "UPDATE survey_sends SET response_id = ?2, answered_at = ?3 WHERE id = ?1",
                &[send.id.into(), id.into(), (&at).into()],
            )?;
            Ok(Some(Answered::New(response(id))))
        }
    }
}

pub(crate) fn record_past_sends(
    db: &Db<'_>,
    visibility: Visibility,
    rows: &[crate::voice::PastSend],
) -> Result<usize> {
    for row in rows {
        accounts::get(db, visibility, row.send.account_id).map_err(|_| {
            Invalid::new("account_id", format!("no account {}", row.send.account_id))
        })?;
        let mut send = row.send.clone();
        send.message = None;
        let id = insert_send(db, None, &send)?;
        if let Some(answer) = &row.answer {
            let score = answer.kind.check(answer.score)?;
            let at = row::instant(answer.answered_at);
            let response: i64 = db.query_one("INSERT INTO survey_responses (account_id, contact_id, kind, score, comment, answered_at, send_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id", &[answer.account_id.get().into(), answer.contact_id.map(ContactId::get).into(), answer.kind.as_str().into(), score.into(), opt_text(answer.comment.as_ref()), (&at).into(), id.into()], |r| r.get(0))?;
            db.execute(
                "UPDATE survey_sends SET response_id = ?2, answered_at = ?3 WHERE id = ?1",
                &[id.into(), response.into(), (&at).into()],
            )?;
        }
    }
    Ok(rows.len())
}
