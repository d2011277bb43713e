//! Records of the playbook machinery: versions, runs, the outbox and the facts rules
//! read (field changes). The engine that decides what to write lives in
//! `mikawaya-playbooks`; the store only keeps it, one transaction per decision.

use jiff::civil::Date;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::value::Slug;
use mikawaya_domain::work::{Channel, MessageStatus, NewTask, RunStatus, TaskStatus};
use mikawaya_domain::{AccountId, ContactId, UserId};

/// One saved version of a playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybookVersion {
    /// The playbook's name.
    pub name: String,
    /// 1, 2, ...
    pub version: i64,
    /// The JSON spec (the playbooks crate checks it).
    pub spec: String,
    /// Whether its rule fires.
    pub enabled: bool,
    /// When it was saved.
    pub created_at: jiff::Timestamp,
}

/// A firing of a playbook for an account: a run, or a held-out control.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Its id.
    pub id: i64,
    /// Playbook name.
    pub playbook: String,
    /// The version it runs.
    pub version: i64,
    /// The account.
    pub account_id: AccountId,
    /// The day the rule fired.
    pub fired_on: Date,
    /// Why it fired, in words (English).
    pub reason: String,
    /// Why it fired, in Japanese (runs stored before it was kept have none).
    pub reason_ja: Option<String>,
    /// Where it stands.
    pub status: RunStatus,
    /// Index of the next step to run.
    pub cursor: i64,
    /// Waiting until this day.
    pub resume_on: Option<Date>,
}

/// Filters for runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Only this playbook.
    pub playbook: Option<String>,
    /// Only this account.
    pub account_id: Option<AccountId>,
    /// Only this status.
    pub status: Option<RunStatus>,
}

/// An account field a playbook step sets.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldUpdate {
    /// Move the lifecycle stage.
    Stage(Slug),
    /// Set the touch tier.
    Tier(TouchTier),
    /// Assign the owner CSM.
    Owner(UserId),
}

/// A message to put in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Unique per message: sending twice with one key is one message.
    pub idempotency_key: String,
    /// Email or webhook.
    pub channel: Channel,
    /// The account it is about.
    pub account_id: Option<AccountId>,
    /// The contact it goes to (email).
    pub contact_id: Option<ContactId>,
    /// Email address or URL.
    pub recipient: String,
    /// Email subject.
    pub subject: Option<String>,
    /// Email text or webhook JSON.
    pub body: String,
    /// Webhook format (`slack`, `generic`).
    pub format: Option<String>,
    /// `Pending`, or `Suppressed` with a reason.
    pub status: MessageStatus,
    /// Why it is suppressed.
    pub reason: Option<String>,
    /// Not before this instant (quiet hours, waits).
    pub not_before: jiff::Timestamp,
}

impl NewMessage {
    /// An email to a contact about an account, to send from `not_before` (pending).
    pub fn email(
        idempotency_key: String,
        account_id: AccountId,
        contact_id: ContactId,
        recipient: String,
        (subject, body): (String, String),
        not_before: jiff::Timestamp,
    ) -> NewMessage {
        NewMessage {
            idempotency_key,
            channel: Channel::Email,
            account_id: Some(account_id),
            contact_id: Some(contact_id),
            recipient,
            subject: Some(subject),
            body,
            format: None,
            status: MessageStatus::Pending,
            reason: None,
            not_before,
        }
    }

    /// The same message suppressed, with why (never sent, kept for the record).
    #[must_use]
    pub fn suppressed(mut self, reason: &str) -> NewMessage {
        self.status = MessageStatus::Suppressed;
        self.reason = Some(reason.to_owned());
        self
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its id.
    pub id: i64,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// Email or webhook.
    pub channel: Channel,
    /// The account.
    pub account_id: Option<AccountId>,
    /// The contact.
    pub contact_id: Option<ContactId>,
    /// The run that wrote it.
    pub run_id: Option<i64>,
    /// Email address or URL.
    pub recipient: String,
    /// Email subject.
    pub subject: Option<String>,
    /// Body.
    pub body: String,
    /// Webhook format.
    pub format: Option<String>,
    /// Where it stands.
    pub status: MessageStatus,
    /// Why it is suppressed.
    pub reason: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next due.
    pub next_attempt_at: jiff::Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: jiff::Timestamp,
    /// When the receiver accepted it.
    pub sent_at: Option<jiff::Timestamp>,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Accepted by the receiver.
    Sent {
        /// When.
        at: jiff::Timestamp,
    },
    /// Failed; try again at `retry_at`.
    Retry {
        /// When to try again.
        retry_at: jiff::Timestamp,
        /// What went wrong.
        error: String,
    },
    /// Failed for good.
    Failed {
        /// What went wrong.
        error: String,
    },
    /// Not sent on purpose.
    Suppressed {
        /// Why.
        reason: String,
    },
}

/// A new run with everything its first steps produce.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Playbook name.
    pub playbook: String,
    /// Version.
    pub version: i64,
    /// Account.
    pub account_id: AccountId,
    /// The firing day.
    pub fired_on: Date,
    /// Why it fired.
    pub reason: String,
    /// Why it fired, in Japanese.
    pub reason_ja: Option<String>,
    /// Active, completed or held out.
    pub status: RunStatus,
    /// Next step.
    pub cursor: i64,
    /// Waiting until.
    pub resume_on: Option<Date>,
    /// What its steps produced.
    pub effects: Effects,
}

/// The progress of an existing run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunProgress {
    /// The run.
    pub run_id: i64,
    /// Its status now.
    pub status: RunStatus,
    /// Next step.
    pub cursor: i64,
    /// Waiting until.
    pub resume_on: Option<Date>,
    /// What the steps just run produced.
    pub effects: Effects,
    /// Close the run's open tasks (done) with this outcome (a superseded stage's).
    pub close_open_tasks: Option<mikawaya_domain::value::Text>,
}

/// What playbook steps produce.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Tasks to create (their `run_id` is filled in by the store).
    pub tasks: Vec<NewTask>,
    /// Messages to queue.
    pub messages: Vec<NewMessage>,
    /// Account fields to set.
    pub fields: Vec<FieldUpdate>,
    /// Success plans to start (a template made into a plan, with its events).
    pub plans: Vec<(
        mikawaya_domain::plan::PlanBody,
        Vec<mikawaya_domain::plan::PlanEvent>,
    )>,
    /// Survey sends, each with the email carrying its link.
    pub surveys: Vec<crate::voice::NewSend>,
}

/// One evaluation's decisions, written together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkflowBatch {
    /// New firings.
    pub new_runs: Vec<NewRun>,
    /// Runs that moved on.
    pub progress: Vec<RunProgress>,
}

/// Filters for the task inbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    /// Only this owner's.
    pub owner_id: Option<UserId>,
    /// Only tasks without an owner (the team queue).
    pub unassigned: bool,
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only this account's.
    pub account_id: Option<AccountId>,
    /// Only this run's.
    pub run_id: Option<i64>,
    /// Only open tasks due before this day.
    pub overdue_on: Option<Date>,
    /// Hide tasks snoozed past this day.
    pub awake_on: Option<Date>,
}

/// A change of an account field (or a stakeholder role) as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountChange {
    /// The account.
    pub account_id: AccountId,
    /// `stage`, `tier`, `plan`, `owner`, `partner`, `renewal_date`, `custom.KEY` or
    /// `champion`.
    pub field: String,
    /// Before.
    pub old_value: Option<String>,
    /// After.
    pub new_value: Option<String>,
    /// When.
    pub changed_at: jiff::Timestamp,
}

/// One account's stored health on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    /// The account.
    pub account_id: AccountId,
    /// The day.
    pub day: Date,
    /// 0-100, none when every measure was missing.
    pub score: Option<f64>,
    /// `red`, `yellow` or `green`.
    pub colour: Option<String>,
    /// The measures (metric, value, score, weight).
    pub measures: Vec<mikawaya_domain::health::MeasureScore>,
    /// The scorecard that made it.
    pub card: String,
    /// The version of the saved segment scorecards in force when it was made (0: none).
    pub cards_version: i64,
}

/// A CSM's manual pulse on an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulse {
    /// The account.
    pub account_id: AccountId,
    /// Who.
    pub user_id: Option<UserId>,
    /// 0-100.
    pub score: i64,
    /// Why.
    pub reason: String,
    /// When.
    pub created_at: jiff::Timestamp,
}

/// What a finished daily pipeline did, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRunRecord {
    /// The business day.
    pub day: jiff::civil::Date,
    /// Rules that fired.
    pub fired: u64,
    /// Health scores stored.
    pub scores: u64,
    /// Metric values stored.
    pub metric_values: u64,
}

/// One account's computed signals of a day (see `mikawaya_domain::account::Signals`; the
/// last touch is kept by the store itself).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    /// The account.
    pub account_id: AccountId,
    /// Health score in force.
    pub health: Option<f64>,
    /// Health minus health 30 days before.
    pub health_change: Option<f64>,
    /// Churn probability by the latest forecast model.
    pub forecast_risk: Option<f64>,
    /// The forecast's top factors raising it (metric names).
    pub forecast_factors: Vec<String>,
}

/// A person's "not now" on an account in their Today list.
#[derive(Debug, Clone, PartialEq)]
pub struct Snooze {
    /// The account.
    pub account_id: AccountId,
    /// Whose Today list.
    pub user_id: UserId,
    /// Hidden up to and including this day.
    pub until: Date,
    /// Why.
    pub reason: mikawaya_domain::value::Text,
    /// When it was set.
    pub created_at: jiff::Timestamp,
}
