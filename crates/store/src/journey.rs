//! Records of the customer journey: each account's entries into lifecycle stages, who or
//! what made them, and the day they count from. What the stages are and when an account
//! moves is decided by the journey's rules (`mikawaya_playbooks::journey`) or by a person;
//! the store keeps the entries, the account's current stage and the day it entered it in
//! one transaction.

use jiff::civil::Date;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, Invalid, UserId};

/// What made an account enter a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StageSource {
    /// The journey's rules, in the daily run (or replayed over the past).
    Rule,
    /// A person, on the account's page, through the API or the CLI.
    Hand,
    /// An import (or the history an older data dir had).
    Import,
}

impl StageSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StageSource::Rule => "rule",
            StageSource::Hand => "hand",
            StageSource::Import => "import",
        }
    }

    /// Reads a stored name.
    pub fn parse(raw: &str) -> Result<StageSource, Invalid> {
        match raw {
            "rule" => Ok(StageSource::Rule),
            "hand" => Ok(StageSource::Hand),
            "import" => Ok(StageSource::Import),
            other => Err(Invalid::new(
                "source",
                format!("'{other}' is not one of rule, hand, import"),
            )),
        }
    }
}

/// One entry of an account into a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageEntry {
    /// Its id (entries of one day are in id order).
    pub id: i64,
    /// The account.
    pub account_id: AccountId,
    /// The stage entered.
    pub stage: Slug,
    /// The day it counts from.
    pub entered_on: Date,
    /// What made it.
    pub source: StageSource,
    /// Who, when a person did.
    pub actor_id: Option<UserId>,
    /// When it was recorded.
    pub recorded_at: jiff::Timestamp,
}

/// A move of an account into a stage on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct StageMove {
    /// The account.
    pub account_id: AccountId,
    /// The stage it enters.
    pub stage: Slug,
    /// The day it enters it.
    pub day: Date,
    /// What moves it.
    pub source: StageSource,
}
