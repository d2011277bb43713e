//! Records of success plans: the plan document and its summary columns, its history of
//! events, the objectives' measured progress, and the links that share a plan with a
//! customer's contacts. What a change means is decided by `mikawaya_domain::plan`; the
//! store keeps a plan and the events of each change in one transaction.

use jiff::civil::Date;
use mikawaya_domain::plan::{Author, PlanBody, PlanEvent, PlanEventKind, PlanStatus, Progress};
use mikawaya_domain::{AccountId, ContactId, PlanId, UserId};

/// A plan as a change left it, with the change's events, who made it and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanEdit<'a> {
    /// The plan after the change.
    pub body: &'a PlanBody,
    /// What the change did.
    pub events: &'a [PlanEvent],
    /// Who (none: Mikawaya, or an integration's token).
    pub author: Option<Author>,
    /// When.
    pub at: jiff::Timestamp,
}

/// Which plans to list (all of them visible: no condition).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanFilter {
    /// One account's plans.
    pub account_id: Option<AccountId>,
    /// Plans in this status.
    pub status: Option<PlanStatus>,
    /// Plans owned by this user on our side.
    pub owner_id: Option<UserId>,
    /// Plans with an objective off track or missed.
    pub objective_off_track: bool,
    /// Plans with a milestone open past its due date on this day.
    pub milestone_overdue_on: Option<Date>,
}

/// One event of a plan's history.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEventRow {
    /// Its id (events are in id order).
    pub id: i64,
    /// The plan.
    pub plan_id: PlanId,
    /// The plan's account.
    pub account_id: AccountId,
    /// When.
    pub at: jiff::Timestamp,
    /// Who (none: Mikawaya itself, e.g. the daily measurement).
    pub author: Option<Author>,
    /// What happened.
    pub kind: PlanEventKind,
    /// The objective, milestone, deliverable or entry it is about.
    pub item: Option<u32>,
    /// A short text.
    pub text: String,
}

/// Which events to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanEventFilter {
    /// One plan's.
    pub plan_id: Option<PlanId>,
    /// One account's.
    pub account_id: Option<AccountId>,
    /// Since this instant (inclusive).
    pub since: Option<jiff::Timestamp>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<PlanEventKind>,
    /// Only events by the customer (through a shared link).
    pub by_customer: bool,
}

/// An objective's measured progress on a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressRow {
    /// The plan.
    pub plan_id: PlanId,
    /// The objective's number in the plan.
    pub objective: u32,
    /// The measurement.
    pub progress: Progress,
}

/// A link that shares a plan with one contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// Its id.
    pub id: i64,
    /// The plan.
    pub plan_id: PlanId,
    /// The contact it was sent to.
    pub contact_id: ContactId,
    /// Who shared it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: jiff::Timestamp,
    /// Until when it opens.
    pub expires_at: jiff::Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<jiff::Timestamp>,
    /// When it was last opened.
    pub last_opened_at: Option<jiff::Timestamp>,
}

/// A share to create; the token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct NewShare {
    /// The plan.
    pub plan_id: PlanId,
    /// The contact (of the plan's account).
    pub contact_id: ContactId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Until when it opens.
    pub expires_at: jiff::Timestamp,
}
