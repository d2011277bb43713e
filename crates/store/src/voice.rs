//! Records of the voice of the customer: hosted surveys and their sends, feedback items and
//! the feature requests they are merged into. What an item says (friction or delight, which
//! request it resembles) is decided by the engines (`mikawaya_analytics::voice`,
//! `mikawaya_analytics::similar`) and the use cases; the store keeps the records, scopes
//! them by partner, and writes a request's change with everything it causes (resolved
//! items, the requesters' emails and touchpoints) in one transaction.

use crate::work::NewMessage;
use mikawaya_domain::language::Language;
use mikawaya_domain::touchpoint::NewTouchpoint;
use mikawaya_domain::value::Text;
use mikawaya_domain::voice::{Experience, RequestStatus, SurveyChannel};
use mikawaya_domain::work::SurveyKind;
use mikawaya_domain::{AccountId, ContactId};

/// Which feedback items to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackFilter {
    /// One account's.
    pub account: Option<AccountId>,
    /// One request's.
    pub request: Option<i64>,
    /// Only items in no request.
    pub unmerged: bool,
    /// Recorded at or after.
    pub since: Option<jiff::Timestamp>,
    /// With an id above.
    pub after_id: Option<i64>,
}

/// A change to one feedback item.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedbackChange {
    /// A person's class (none: back to the rules).
    Experience(Option<Experience>),
    /// Merge into a request (none: split off).
    Request(Option<i64>),
    /// The request the similarity suggests, with its score (none: no suggestion).
    Suggest(Option<(i64, f64)>),
    /// Resolved (or open again).
    Resolved(bool),
}

/// A change to a feature request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestChange {
    /// A new title.
    pub title: Option<Text>,
    /// A new status.
    pub status: Option<RequestStatus>,
    /// A new product issue link (`Some(None)` removes it).
    pub issue_url: Option<Option<String>>,
    /// When it happened (history loaded by an import or the demo); now when absent.
    pub at: Option<jiff::Timestamp>,
}

/// What closing the loop on a shipped request writes: an email to each requester and a
/// touchpoint on each requesting account. Written only when the request becomes shipped
/// for the first time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoopClosing {
    /// The emails (their idempotency keys make each one once).
    pub messages: Vec<NewMessage>,
    /// The touchpoints.
    pub touchpoints: Vec<NewTouchpoint>,
}

/// What a request's change did.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestChanged {
    /// The request after it.
    pub request: mikawaya_domain::voice::FeatureRequest,
    /// Whether anything changed.
    pub changed: bool,
    /// Whether the loop was closed by this change (emails and touchpoints written).
    pub loop_closed: bool,
}

/// A survey as leaders define it.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// Its id.
    pub id: i64,
    /// Its name (a slug).
    pub name: String,
    /// What its first question measures.
    pub kind: SurveyKind,
    /// The definition (JSON, checked by the use case).
    pub body: String,
    /// Whether it may be sent.
    pub active: bool,
}

/// A send of a survey to one contact.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveySend {
    /// Its id.
    pub id: i64,
    /// The survey.
    pub survey_id: i64,
    /// The account.
    pub account_id: AccountId,
    /// The recipient.
    pub contact_id: ContactId,
    /// How it reached them.
    pub channel: SurveyChannel,
    /// The language it is shown in.
    pub language: Language,
    /// When it was sent.
    pub sent_at: jiff::Timestamp,
    /// When its link stops working.
    pub expires_at: jiff::Timestamp,
    /// The answer, once given.
    pub response_id: Option<i64>,
    /// When it was first answered.
    pub answered_at: Option<jiff::Timestamp>,
}

/// A send to record, with its link's token hash and the email that carries it (none for a
/// link shown in the product).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSend {
    /// The survey.
    pub survey_id: i64,
    /// The account.
    pub account_id: AccountId,
    /// The recipient.
    pub contact_id: ContactId,
    /// How it reaches them.
    pub channel: SurveyChannel,
    /// Its language.
    pub language: Language,
    /// SHA-256 of the link's token.
    pub token_hash: String,
    /// When.
    pub sent_at: jiff::Timestamp,
    /// Until when the link works.
    pub expires_at: jiff::Timestamp,
    /// The email with the link.
    pub message: Option<NewMessage>,
}

/// An answer given through a send's link.
#[derive(Debug, Clone, PartialEq)]
pub struct SendAnswer {
    /// The first question's score (checked against the survey's kind).
    pub score: i64,
    /// The comment.
    pub comment: Option<Text>,
    /// The other questions' answers (JSON object).
    pub answers: Option<String>,
    /// When.
    pub at: jiff::Timestamp,
    /// How long after the first answer it may still be changed.
    pub edit_window: jiff::SignedDuration,
}

/// What answering a send did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// A first answer.
    New(mikawaya_domain::work::SurveyResponse),
    /// The earlier answer replaced, within the edit window.
    Replaced(mikawaya_domain::work::SurveyResponse),
    /// Refused: the edit window is over.
    Closed,
}

/// A past send and the answer it got (surveys run before the data dir, or by the demo).
#[derive(Debug, Clone, PartialEq)]
pub struct PastSend {
    /// The send (its email, if any, is not queued again).
    pub send: NewSend,
    /// The answer, when one came.
    pub answer: Option<mikawaya_domain::work::NewSurveyResponse>,
}
