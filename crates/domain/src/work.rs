//! Work the CS team does on accounts: tasks (calls to action) and survey answers that
//! playbooks react to.

use crate::value::Text;
use crate::{AccountId, ContactId, UserId, wire_enum};
use jiff::civil::Date;

wire_enum!(
    /// How urgent a task is.
    Priority, "priority" {
        /// Whenever there is time.
        Low = "low" | "低",
        /// The usual.
        Normal = "normal" | "medium" | "中",
        /// Before the usual.
        High = "high" | "高",
        /// Today.
        Urgent = "urgent" | "緊急",
    }
);

wire_enum!(
    /// Where a task stands. Snoozing keeps a task open with a later `snoozed_until`.
    TaskStatus, "status" {
        /// To do.
        Open = "open",
        /// Completed, with an outcome.
        Done = "done",
    }
);

wire_enum!(
    /// A survey's kind.
    SurveyKind, "kind" {
        /// Net Promoter Score (0-10).
        Nps = "nps",
        /// Customer satisfaction (1-5).
        Csat = "csat",
        /// Customer effort score (1-7).
        Ces = "ces",
    }
);

impl SurveyKind {
    /// The valid score range, inclusive.
    pub fn range(self) -> (i64, i64) {
        match self {
            SurveyKind::Nps => (0, 10),
            SurveyKind::Csat => (1, 5),
            SurveyKind::Ces => (1, 7),
        }
    }

    /// Checks a score against the range.
    pub fn check(self, score: i64) -> Result<i64, crate::Invalid> {
        let (low, high) = self.range();
        if (low..=high).contains(&score) {
            Ok(score)
        } else {
            Err(crate::Invalid::new(
                "score",
                format!("a {} score is between {low} and {high}, not {score}", self),
            ))
        }
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its id.
    pub id: i64,
    /// The account it is about.
    pub account_id: AccountId,
    /// Who should do it; none means the team's queue.
    pub owner_id: Option<UserId>,
    /// What to do.
    pub title: Text,
    /// How to do it.
    pub instructions: Option<Text>,
    /// How urgent.
    pub priority: Priority,
    /// When it is due.
    pub due_on: Date,
    /// Open or done.
    pub status: TaskStatus,
    /// Hidden from the inbox until this day.
    pub snoozed_until: Option<Date>,
    /// What came of it (when done).
    pub outcome: Option<Text>,
    /// A note.
    pub note: Option<Text>,
    /// The playbook run that created it.
    pub run_id: Option<i64>,
    /// The playbook phase it belongs to.
    pub phase: Option<String>,
    /// The deliverable it produces (a phase cannot close until its deliverables are done).
    pub deliverable: Option<String>,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it was completed.
    pub completed_at: Option<jiff::Timestamp>,
}

impl Task {
    /// Open and past its due day.
    pub fn overdue(&self, today: Date) -> bool {
        self.status == TaskStatus::Open && self.due_on < today
    }
}

/// A task to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The account.
    pub account_id: AccountId,
    /// Who.
    pub owner_id: Option<UserId>,
    /// What.
    pub title: Text,
    /// How.
    pub instructions: Option<Text>,
    /// How urgent.
    pub priority: Priority,
    /// When due.
    pub due_on: Date,
    /// The run that creates it.
    pub run_id: Option<i64>,
    /// Its phase.
    pub phase: Option<String>,
    /// Its deliverable.
    pub deliverable: Option<String>,
}

/// Changes to a task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskPatch {
    /// Reassign.
    pub owner_id: crate::Patch<UserId>,
    /// Change the priority.
    pub priority: Option<Priority>,
    /// Move the due day.
    pub due_on: Option<Date>,
    /// Snooze until a day (clear to wake).
    pub snoozed_until: crate::Patch<Date>,
    /// Complete (with an outcome) or reopen.
    pub status: Option<TaskStatus>,
    /// The outcome.
    pub outcome: crate::Patch<Text>,
    /// The note.
    pub note: crate::Patch<Text>,
}

/// A survey answer tied to an account.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    /// Its id.
    pub id: i64,
    /// The account.
    pub account_id: AccountId,
    /// Who answered.
    pub contact_id: Option<ContactId>,
    /// The survey.
    pub kind: SurveyKind,
    /// The score, within the kind's range.
    pub score: i64,
    /// Free text.
    pub comment: Option<Text>,
    /// When answered.
    pub answered_at: jiff::Timestamp,
    /// A person's class of the answer, which wins over the rules.
    pub experience_override: Option<crate::voice::Experience>,
}

/// A survey answer to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSurveyResponse {
    /// The account.
    pub account_id: AccountId,
    /// Who answered.
    pub contact_id: Option<ContactId>,
    /// The survey.
    pub kind: SurveyKind,
    /// The score (checked against the kind).
    pub score: i64,
    /// Free text.
    pub comment: Option<Text>,
    /// When.
    pub answered_at: jiff::Timestamp,
}

wire_enum!(
    /// Where a playbook run stands.
    RunStatus, "status" {
        /// Running (steps left, or waiting).
        Active = "active",
        /// Every step done.
        Completed = "completed",
        /// Fired, but the account was drawn into the control group: nothing was done.
        HeldOut = "held_out",
        /// Stopped by a person.
        Cancelled = "cancelled",
    }
);

wire_enum!(
    /// How an outgoing message travels.
    Channel, "channel" {
        /// Email over SMTP.
        Email = "email",
        /// An HTTP POST (Slack or generic).
        Webhook = "webhook",
    }
);

wire_enum!(
    /// Where an outgoing message stands.
    MessageStatus, "status" {
        /// Waiting to be sent (or retried).
        Pending = "pending",
        /// Handed to a sender; if the sender died, it is sent again with the same key.
        Sending = "sending",
        /// Accepted by the receiving server.
        Sent = "sent",
        /// Gave up after the last retry, or refused permanently.
        Failed = "failed",
        /// Not sent on purpose (unsubscribed, frequency cap), with the reason.
        Suppressed = "suppressed",
    }
);
