//! The voice of the customer as records: what an answer or a feedback item tells about the
//! customer's experience, where a feedback item came from, the feature requests similar
//! items are merged into and where each stands with the product team, and how a survey
//! reached its recipient.

use crate::value::Text;
use crate::{AccountId, ContactId, UserId, wire_enum};

wire_enum!(
    /// What an answer or a feedback item tells about the customer's experience: friction
    /// ("minus to zero": dissatisfaction and effort, to remove first) or delight ("zero to
    /// plus": praise, a success, a wish to grow).
    Experience, "experience" {
        /// Dissatisfaction or effort: remove it first.
        Friction = "friction" | "不満",
        /// Praise, a success, a wish to grow.
        Delight = "delight" | "満足",
        /// Neither.
        Neutral = "neutral" | "中立",
    }
);

wire_enum!(
    /// Where a feedback item came from.
    FeedbackSource, "source" {
        /// A survey answer's comment.
        Survey = "survey",
        /// A touchpoint of kind feedback.
        Touchpoint = "touchpoint",
        /// The API (or a person on a page).
        Api = "api",
        /// A CSV file.
        Csv = "csv",
        /// An email forwarded to Mikawaya.
        Email = "email",
    }
);

wire_enum!(
    /// Where a feature request stands with the product team.
    RequestStatus, "status" {
        /// Received, not decided.
        UnderReview = "under_review" | "review" | "open" | "検討中",
        /// On the roadmap.
        Planned = "planned" | "計画済み",
        /// Being built.
        InProgress = "in_progress" | "開発中",
        /// Released: its requesters are told.
        Shipped = "shipped" | "done" | "リリース済み",
        /// Not going to be built.
        Declined = "declined" | "見送り",
    }
);

impl RequestStatus {
    /// Whether the request is decided for good (shipped or declined).
    pub fn is_closed(self) -> bool {
        matches!(self, RequestStatus::Shipped | RequestStatus::Declined)
    }
}

wire_enum!(
    /// How a survey reached its recipient.
    SurveyChannel, "channel" {
        /// An email with the link, through the outbox.
        Email = "email",
        /// A link shown inside the product, returned by the API.
        InApp = "in_app",
    }
);

/// A feedback item: something a customer said, tied to an account (and a contact when
/// known), classified and perhaps merged into a feature request.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackItem {
    /// Its id.
    pub id: i64,
    /// The account.
    pub account_id: AccountId,
    /// Who said it.
    pub contact_id: Option<ContactId>,
    /// Where it came from.
    pub source: FeedbackSource,
    /// The source's own key (a survey answer's or touchpoint's id, a file's row key):
    /// the same key from the same source is one item.
    pub source_key: Option<String>,
    /// What was said.
    pub text: Text,
    /// A person's class, which wins over the rules.
    pub experience_override: Option<Experience>,
    /// The request it was merged into.
    pub request_id: Option<i64>,
    /// The request the similarity suggests, with its score (0-1), until a person decides.
    pub suggestion: Option<(i64, f64)>,
    /// When it was resolved (by hand, or when its request shipped).
    pub resolved_at: Option<jiff::Timestamp>,
    /// Who recorded it.
    pub created_by: Option<UserId>,
    /// When it was recorded.
    pub created_at: jiff::Timestamp,
}

/// A feedback item to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedbackItem {
    /// The account.
    pub account_id: AccountId,
    /// Who said it (a contact of the account).
    pub contact_id: Option<ContactId>,
    /// Where it came from.
    pub source: FeedbackSource,
    /// The source's own key.
    pub source_key: Option<String>,
    /// What was said.
    pub text: Text,
    /// When it was said (now when absent).
    pub created_at: Option<jiff::Timestamp>,
}

/// A feature request: similar feedback items merged into one thing to build.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRequest {
    /// Its id.
    pub id: i64,
    /// What to build, in the team's words.
    pub title: Text,
    /// Where it stands.
    pub status: RequestStatus,
    /// The product issue it links to (GitHub, Jira, Linear: any URL).
    pub issue_url: Option<String>,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
    /// When it shipped.
    pub shipped_at: Option<jiff::Timestamp>,
    /// When its requesters were told it shipped.
    pub loop_closed_at: Option<jiff::Timestamp>,
}

/// Who changed a request and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// A person on a page.
    App,
    /// The API.
    Api,
    /// The product tracker's webhook.
    Webhook,
}

impl ChangeSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::App => "app",
            ChangeSource::Api => "api",
            ChangeSource::Webhook => "webhook",
        }
    }
}

/// One line of a request's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEvent {
    /// When.
    pub at: jiff::Timestamp,
    /// Who (none: the webhook or the system).
    pub actor_id: Option<UserId>,
    /// app, api or webhook.
    pub source: String,
    /// status, link, merge, split, title.
    pub kind: String,
    /// What changed, for people.
    pub text: String,
}
