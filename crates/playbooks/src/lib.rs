//! The playbook engine (型化): rules that fire on customer data, versioned playbooks whose
//! steps create tasks, queue emails and webhooks and change account fields, touch-tier and
//! owner assignment, and the effectiveness report that compares runs with a held-out
//! control group.
//!
//! Data flow: [`facts::Facts`] (read from the store and the usage rollups) →
//! [`engine::evaluate`] (pure decisions as of a [`Clock`]) → one
//! [`mikawaya_store::work::WorkflowBatch`] written in one transaction. Sending what was
//! queued is the outbox crate's job.
//!
//! Invariants:
//! - Every clock reading comes from a [`Clock`] the caller passes: tests and demos run on
//!   a virtual date and never sleep.
//! - A rule fires at most once per account per playbook cooldown; every firing is
//!   recorded with its reason, including the held-out ones.
//! - Held-out accounts are drawn by a hash of (playbook, account, day), so a rerun of the
//!   same evaluation draws the same accounts.
//! - A run keeps the version it started with; editing a playbook saves a new version.

pub mod dry_run;
pub mod effectiveness;
pub mod engine;
pub mod facts;
pub mod health;
pub mod journey;
pub mod plan_templates;
pub mod spec;
pub mod starter;
pub mod surveys;
pub mod template;
pub mod tiers;
mod trigger;

pub use engine::{Clock, FireReason, Report, Settings, Start, evaluate, evaluate_live, start};
pub use spec::{Playbook, PlaybookSpec};

/// Errors of the playbook engine.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// A spec or an argument is invalid.
    #[error(transparent)]
    Invalid(#[from] mikawaya_domain::Invalid),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mikawaya_store::StoreError),
    /// The usage rollups could not be read.
    #[error("usage data: {0}")]
    Usage(String),
    /// A stored spec no longer reads (written by another version, or edited by hand).
    #[error("stored playbook {name} v{version} does not read: {reason}")]
    Stored {
        /// Playbook.
        name: String,
        /// Version.
        version: i64,
        /// Why.
        reason: String,
    },
}

/// Inside a store call (a blocking task that returns store errors): store errors and
/// invalid input keep their meaning; anything else is reported as ours.
impl From<PlaybookError> for mikawaya_store::StoreError {
    fn from(error: PlaybookError) -> Self {
        match error {
            PlaybookError::Store(store) => store,
            PlaybookError::Invalid(invalid) => invalid.into(),
            other => mikawaya_store::StoreError::Corrupt(other.to_string()),
        }
    }
}

/// Result of engine calls.
pub type Result<T, E = PlaybookError> = std::result::Result<T, E>;
