//! Subscriptions: what an account pays for, over time. A change of price or quantity is a
//! new row that starts where the old one ends, so the rows of an account are its revenue
//! history and churn, expansion and contraction follow from them (see `shared/domain.md`).

use crate::value::{ExternalId, Money, Slug};
use crate::{AccountId, Invalid, Patch, SubscriptionId};
use jiff::civil::Date;

/// A half-open interval of days `[start, end)`; no end means still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    start: Date,
    end: Option<Date>,
}

impl Term {
    /// Builds a term; the end must come after the start.
    pub fn new(start: Date, end: Option<Date>) -> Result<Self, Invalid> {
        match end {
            Some(end) if end <= start => Err(Invalid::new(
                "end_date",
                format!("{end} must be after start_date {start}"),
            )),
            _ => Ok(Self { start, end }),
        }
    }

    /// First day.
    pub fn start(&self) -> Date {
        self.start
    }

    /// First day no longer covered, if ended.
    pub fn end(&self) -> Option<Date> {
        self.end
    }

    /// Whether the term covers day `day`: start <= day < end.
    pub fn is_active_on(&self, day: Date) -> bool {
        self.start <= day && self.end.is_none_or(|end| day < end)
    }
}

/// What the formulas need of a subscription row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RevenueRow {
    /// The paying account.
    pub account: AccountId,
    /// Monthly recurring revenue of the row.
    pub mrr: f64,
    /// When it runs.
    pub term: Term,
}

impl From<&Subscription> for RevenueRow {
    fn from(subscription: &Subscription) -> Self {
        Self {
            account: subscription.account_id,
            mrr: subscription.mrr.amount(),
            term: subscription.term,
        }
    }
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The paying account.
    pub account_id: AccountId,
    /// Id in the billing system.
    pub external_id: Option<ExternalId>,
    /// Plan key.
    pub plan: Slug,
    /// Seats or units.
    pub quantity: u32,
    /// Monthly recurring revenue of this row.
    pub mrr: Money,
    /// When it runs.
    pub term: Term,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

/// A subscription to create or upsert by external id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    /// The paying account.
    pub account_id: AccountId,
    /// Id in the billing system.
    pub external_id: Option<ExternalId>,
    /// Plan key.
    pub plan: Slug,
    /// Seats or units.
    pub quantity: u32,
    /// MRR.
    pub mrr: Money,
    /// When it runs.
    pub term: Term,
}

/// A change to a subscription. The previous version is kept in its history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionPatch {
    /// External id.
    pub external_id: Patch<ExternalId>,
    /// Plan.
    pub plan: Option<Slug>,
    /// Quantity.
    pub quantity: Option<u32>,
    /// MRR.
    pub mrr: Option<Money>,
    /// Start day.
    pub start: Option<Date>,
    /// End day (clear = still running).
    pub end: Patch<Date>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_term_is_half_open() {
        let term =
            Term::new(date(2024, 1, 1), Some(date(2024, 2, 1))).unwrap_or_else(|e| panic!("{e}"));
        assert!(!term.is_active_on(date(2023, 12, 31)));
        assert!(term.is_active_on(date(2024, 1, 1)));
        assert!(term.is_active_on(date(2024, 1, 31)));
        assert!(!term.is_active_on(date(2024, 2, 1)));
        let running = Term::new(date(2024, 1, 1), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(running.is_active_on(date(2099, 1, 1)));
    }

    #[test]
    fn a_term_must_end_after_it_starts() {
        assert!(Term::new(date(2024, 1, 1), Some(date(2024, 1, 1))).is_err());
    }
}
