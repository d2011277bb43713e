//! Partner organisations (代理店) that resell to or serve accounts.

use crate::PartnerId;
use crate::value::{ExternalId, Name};

/// A stored partner.
#[derive(Debug, Clone, PartialEq)]
pub struct Partner {
    /// Its id.
    pub id: PartnerId,
    /// Its id in the customer's own systems.
    pub external_id: Option<ExternalId>,
    /// Its name.
    pub name: Name,
    /// When it was created.
    pub created_at: jiff::Timestamp,
}

/// A partner to create or upsert by external id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPartner {
    /// Its id in the customer's own systems.
    pub external_id: Option<ExternalId>,
    /// Its name.
    pub name: Name,
}
