//! Hosted surveys: their definitions (the standard NPS, CSAT and CES until leaders save
//! their own), sends to contacts by email through the outbox or as a link shown in the
//! product, the public page a signed per-recipient link opens, answers (one per send,
//! changeable within the edit window), each comment becoming a feedback item, and response
//! rates.

use crate::Result;
use crate::credentials::random_secret;
use crate::feedback::{self, FeedbackIndex};
use jiff::civil::Date;
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::language::Language;
use mikawaya_domain::value::Text;
use mikawaya_domain::voice::{FeedbackSource, NewFeedbackItem, SurveyChannel};
use mikawaya_domain::work::{SurveyKind, SurveyResponse};
use mikawaya_domain::{Actor, ContactId, Invalid, ReadAccess, WriteAccess};
use mikawaya_playbooks::surveys::{self as defs, SurveyDef};
use mikawaya_store::Store;
use mikawaya_store::voice::{Answered, NewSend, SendAnswer, Survey, SurveySend};
use mikawaya_store::work::NewMessage;
use std::collections::BTreeMap;

/// The survey definitions, the standard ones saved first when none is.
pub fn definitions(store: &dyn Store) -> Result<Vec<(Survey, SurveyDef)>> {
    let mut stored = store.surveys()?;
    if stored.is_empty() {
        let manage = Actor::system().manage()?;
        for kind in SurveyKind::ALL {
            let def = defs::standard(*kind);
            let body =
                serde_json::to_string(&def).map_err(|e| Invalid::new("survey", e.to_string()))?;
            store.put_survey(&manage, &def.name, def.kind, &body, def.active)?;
        }
        stored = store.surveys()?;
    }
    stored
        .into_iter()
        .map(|survey| {
            let def: SurveyDef = serde_json::from_str(&survey.body).map_err(|e| {
                mikawaya_store::StoreError::Corrupt(format!("survey {}: {e}", survey.name))
            })?;
            Ok((survey, def))
        })
        .collect()
}

/// One survey by name.
pub fn definition(store: &dyn Store, name: &str) -> Result<(Survey, SurveyDef)> {
    definitions(store)?
        .into_iter()
        .find(|(s, _)| s.name == name)
        .ok_or_else(|| Invalid::new("survey", format!("no survey named '{name}'")).into())
}

/// Checks and saves a definition (leaders).
pub fn save(store: &dyn Store, access: &ManageAccess, def: SurveyDef) -> Result<Survey> {
    definitions(store)?;
    let def = def.check()?;
    let body = serde_json::to_string(&def).map_err(|e| Invalid::new("survey", e.to_string()))?;
    Ok(store.put_survey(access, &def.name, def.kind, &body, def.active)?)
}

/// Why a contact was not sent a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Surveyed within the rest period.
    Resting,
    /// Unsubscribed from email.
    Unsubscribed,
    /// No email address.
    NoEmail,
    /// Over the weekly email cap.
    Capped,
}

impl Skipped {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Skipped::Resting => "resting",
            Skipped::Unsubscribed => "unsubscribed",
            Skipped::NoEmail => "no_email",
            Skipped::Capped => "frequency_cap",
        }
    }
}

/// What sending to one contact did.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Sent: the send and its link (shown once: only the token's hash is kept).
    Sent(SurveySend, String),
    /// Not sent.
    Skipped(ContactId, Skipped),
}

/// Where links point and what language and caps apply.
#[derive(Debug, Clone)]
pub struct SendContext {
    /// The server's public address.
    pub base_url: String,
    /// Customers' language when their account does not say.
    pub language: Language,
    /// At most this many emails per address per 7 days.
    pub emails_per_week: u64,
    /// Now.
    pub now: jiff::Timestamp,
}

/// Sends a survey to contacts of visible accounts by `channel`: an email through the outbox
/// with the contact's own link, or (in the product) the link itself. Unsubscribed contacts
/// are never surveyed by email, and nobody is surveyed twice within the rest period.
pub fn send(
    store: &dyn Store,
    access: &WriteAccess,
    survey: &str,
    contacts: &[ContactId],
    channel: SurveyChannel,
    context: &SendContext,
) -> Result<Vec<SendOutcome>> {
    let (survey, def) = definition(store, survey)?;
    if !def.active {
        return Err(Invalid::new("survey", format!("survey '{}' is not active", def.name)).into());
    }
    if contacts.is_empty() || contacts.len() > 1000 {
        return Err(Invalid::new("contact_ids", "give 1 to 1000 contacts").into());
    }
    let read = access.read();
    let rest = jiff::SignedDuration::from_hours(24 * i64::from(def.rest_days));
    let mut last: BTreeMap<ContactId, jiff::Timestamp> = BTreeMap::new();
    for s in store.survey_sends(&read, context.now - rest)? {
        last.insert(s.contact_id, s.sent_at);
    }
    let mut outcomes = Vec::new();
    let mut sends = Vec::new();
    let mut links = Vec::new();
    for contact_id in contacts {
        let contact = store
            .get_contact(&read, *contact_id)
            .map_err(|_| Invalid::new("contact_ids", format!("no contact {contact_id}")))?;
        if last.contains_key(contact_id) {
            outcomes.push(SendOutcome::Skipped(*contact_id, Skipped::Resting));
            continue;
        }
        let account = store.get_account(&read, contact.account_id)?;
        let language = feedback::language_of(&account, context.language);
        let token = format!("sv_{}", random_secret());
        let url = format!(
            "{}{}",
            context.base_url.trim_end_matches('/'),
            defs::link_path(&token)
        );
        let expires_at =
            context.now + jiff::SignedDuration::from_hours(24 * i64::from(def.expires_days));
        let message = match channel {
            SurveyChannel::InApp => None,
            SurveyChannel::Email => {
                let Some(email) = &contact.email else {
                    outcomes.push(SendOutcome::Skipped(*contact_id, Skipped::NoEmail));
                    continue;
                };
                if store.is_unsubscribed(&read, email.as_str())? {
                    outcomes.push(SendOutcome::Skipped(*contact_id, Skipped::Unsubscribed));
                    continue;
                }
                let week_ago = context.now - jiff::SignedDuration::from_hours(24 * 7);
                if store.emails_to_since(&read, email.as_str(), week_ago)?
                    >= context.emails_per_week
                {
                    outcomes.push(SendOutcome::Skipped(*contact_id, Skipped::Capped));
                    continue;
                }
                let (subject, body) = defs::email(
                    &def,
                    language.code(),
                    contact.name.as_str(),
                    account.name.as_str(),
                    &url,
                );
                Some(NewMessage::email(
                    format!("survey/{}", defs::token_hash(&token)),
                    account.id,
                    contact.id,
                    email.to_string(),
                    (subject, body),
                    context.now,
                ))
            }
        };
        last.insert(*contact_id, context.now);
        sends.push(NewSend {
            survey_id: survey.id,
            account_id: account.id,
            contact_id: contact.id,
            channel,
            language,
            token_hash: defs::token_hash(&token),
            sent_at: context.now,
            expires_at,
            message,
        });
        links.push(url);
    }
    for (sent, url) in store.create_sends(access, &sends)?.into_iter().zip(links) {
        outcomes.push(SendOutcome::Sent(sent, url));
    }
    Ok(outcomes)
}

/// What a contact sees through a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The send.
    pub send: SurveySend,
    /// The survey.
    pub def: SurveyDef,
    /// The account's name.
    pub account_name: String,
    /// The answer given, if any.
    pub answer: Option<SurveyResponse>,
    /// The custom answers given (JSON object).
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Until when the answer may be given or changed (none: no longer).
    pub editable_until: Option<jiff::Timestamp>,
}

fn digest(token: &str) -> Option<String> {
    let plausible = token.starts_with("sv_")
        && token.len() < 100
        && token[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plausible.then(|| defs::token_hash(token))
}

/// The survey a link opens at `now` (none: wrong or expired, all alike).
pub fn open(store: &dyn Store, token: &str, now: jiff::Timestamp) -> Result<Option<Opened>> {
    let Some(hash) = digest(token) else {
        return Ok(None);
    };
    let Some(send) = store.open_send(&hash, now)? else {
        return Ok(None);
    };
    let system = Actor::system().read();
    let (_, def) = definitions(store)?
        .into_iter()
        .find(|(s, _)| s.id == send.survey_id)
        .ok_or(Invalid::new("survey", "gone"))?;
    let account = store.get_account(&system, send.account_id)?;
    let answer = match send.response_id {
        Some(id) => store
            .survey_responses(&system, Some(&[send.account_id]), send.sent_at)?
            .into_iter()
            .find(|r| r.id == id),
        None => None,
    };
    let edit = jiff::SignedDuration::from_hours(i64::from(def.edit_hours));
    let editable_until = match send.answered_at {
        None => Some(send.expires_at),
        Some(first) => Some(first + edit).filter(|until| *until > now),
    };
    Ok(Some(Opened {
        custom: BTreeMap::new(),
        account_name: account.name.to_string(),
        answer,
        editable_until,
        def,
        send,
    }))
}

/// An answer as the page posts it.
#[derive(Debug, Clone, Default)]
pub struct AnswerForm {
    /// The first question's score.
    pub score: Option<String>,
    /// The comment.
    pub comment: Option<String>,
    /// Further questions' answers by key.
    pub custom: BTreeMap<String, String>,
}

/// What answering did.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// No live send has that token (wrong or expired): a plain "not found".
    NotFound,
    /// Refused: the edit window is over.
    Closed,
    /// Recorded (first or replaced): the answer, and the account to react on.
    Recorded(SurveyResponse, bool),
}

/// Records an answer through a link: the first one, or a replacement within the edit
/// window; the comment becomes (or updates) a feedback item of the account and contact.
pub fn answer(
    store: &dyn Store,
    index: &FeedbackIndex,
    token: &str,
    form: &AnswerForm,
    now: jiff::Timestamp,
) -> Result<AnswerOutcome> {
    let Some(opened) = open(store, token, now)? else {
        return Ok(AnswerOutcome::NotFound);
    };
    let (low, high) = opened.def.kind.range();
    let score = form
        .score
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Invalid::new("score", "choose a score"))?;
    let score: i64 = mikawaya_domain::value::half_width(score)
        .parse::<i64>()
        .ok()
        .filter(|n| (low..=high).contains(n))
        .ok_or_else(|| Invalid::new("score", format!("must be {low} to {high}")))?;
    let comment = form
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            if c.chars().count() > 5000 {
                Err(Invalid::new("comment", "at most 5,000 characters"))
            } else {
                Text::parse(c).map_err(|e| e.in_field("comment"))
            }
        })
        .transpose()?;
    let mut custom = serde_json::Map::new();
    for (key, raw) in &form.custom {
        if let Some(value) = opened.def.check_answer(key, raw)? {
            custom.insert(key.clone(), value);
        }
    }
    let hash = digest(token).ok_or(Invalid::new("token", "not found"))?;
    let answered = store.answer_send(
        &hash,
        &SendAnswer {
            score,
            comment: comment.clone(),
            answers: (!custom.is_empty()).then(|| serde_json::Value::Object(custom).to_string()),
            at: now,
            edit_window: jiff::SignedDuration::from_hours(i64::from(opened.def.edit_hours)),
        },
    )?;
    let (response, first) = match answered {
        None => return Ok(AnswerOutcome::NotFound),
        Some(Answered::Closed) => return Ok(AnswerOutcome::Closed),
        Some(Answered::New(response)) => (response, true),
        Some(Answered::Replaced(response)) => (response, false),
    };
    if let Some(comment) = &comment {
        let write = Actor::system().write()?;
        feedback::add(
            store,
            &write,
            index,
            &[NewFeedbackItem {
                account_id: response.account_id,
                contact_id: response.contact_id,
                source: FeedbackSource::Survey,
                source_key: Some(response.id.to_string()),
                text: comment.clone(),
                created_at: Some(now),
            }],
        )?;
    }
    Ok(AnswerOutcome::Recorded(response, first))
}

/// Sends and answers of one survey, kind or segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rate {
    /// Sends.
    pub sent: usize,
    /// Of those, answered.
    pub answered: usize,
}

impl Rate {
    /// Answered / sent, percent (none without sends).
    pub fn percent(&self) -> Option<f64> {
        (self.sent > 0).then(|| 100.0 * self.answered as f64 / self.sent as f64)
    }
}

/// Response rates of the visible sends made from `from` to `to` (business days), per
/// survey and per segment.
pub fn rates(
    store: &dyn Store,
    access: &ReadAccess,
    from: Date,
    to: Date,
    by: mikawaya_playbooks::journey::SegmentBy,
) -> Result<(BTreeMap<String, Rate>, BTreeMap<String, Rate>)> {
    let zone = store.business_time_zone()?;
    let since = from
        .to_zoned(zone.clone())
        .map_err(|e| Invalid::new("from", e.to_string()))?
        .timestamp();
    let names: BTreeMap<i64, String> = store
        .surveys()?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let accounts: BTreeMap<_, _> = store
        .all_accounts(access)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let partners = crate::journey::partner_keys(store, access)?;
    let (mut by_survey, mut by_segment): (BTreeMap<String, Rate>, BTreeMap<String, Rate>) =
        Default::default();
    for send in store.survey_sends(access, since)? {
        if send.sent_at.to_zoned(zone.clone()).date() > to {
            continue;
        }
        let answered = usize::from(send.response_id.is_some());
        let survey = by_survey
            .entry(names.get(&send.survey_id).cloned().unwrap_or_default())
            .or_default();
        survey.sent += 1;
        survey.answered += answered;
        if let Some(account) = accounts.get(&send.account_id) {
            let segment = by_segment
                .entry(crate::journey::segment_of(by, account, &partners))
                .or_default();
            segment.sent += 1;
            segment.answered += answered;
        }
    }
    Ok((by_survey, by_segment))
}
