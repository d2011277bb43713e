//! Touchpoints: meetings, calls, emails, QBRs and notes between the CS team and a customer.

use crate::contact::Sentiment;
use crate::value::Text;
use crate::{AccountId, TouchpointId, UserId, wire_enum};

wire_enum!(
    /// The kind of touchpoint.
    TouchpointKind, "kind" {
        /// A meeting.
        Meeting = "meeting" | "mtg" | "打ち合わせ" | "会議",
        /// A phone or video call.
        Call = "call" | "電話",
        /// An email.
        Email = "email" | "mail" | "メール",
        /// A quarterly business review.
        Qbr = "qbr",
        /// An internal note.
        Note = "note" | "メモ",
        /// What the customer asked for or complained about: it becomes a feedback item.
        Feedback = "feedback" | "要望" | "フィードバック",
    }
);

/// A stored touchpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Touchpoint {
    /// Its id.
    pub id: TouchpointId,
    /// The account.
    pub account_id: AccountId,
    /// Its kind.
    pub kind: TouchpointKind,
    /// When it happened.
    pub occurred_at: jiff::Timestamp,
    /// Who on the CS team.
    pub user_id: Option<UserId>,
    /// What happened.
    pub summary: Option<Text>,
    /// Who attended (names or emails).
    pub attendees: Vec<String>,
    /// Notes (several lines).
    pub notes: Option<Text>,
    /// How the customer felt.
    pub sentiment: Option<Sentiment>,
    /// When it was recorded.
    pub created_at: jiff::Timestamp,
}

/// A touchpoint to record. Recording the same account, kind, instant and summary twice
/// keeps one, so imports are idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTouchpoint {
    /// The account.
    pub account_id: AccountId,
    /// Kind.
    pub kind: TouchpointKind,
    /// When.
    pub occurred_at: jiff::Timestamp,
    /// Who.
    pub user_id: Option<UserId>,
    /// What.
    pub summary: Option<Text>,
    /// Attendees.
    pub attendees: Vec<String>,
    /// Notes.
    pub notes: Option<Text>,
    /// Sentiment.
    pub sentiment: Option<Sentiment>,
}
