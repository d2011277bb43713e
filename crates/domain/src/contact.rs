//! Contacts: the stakeholders at a customer, with their role and personal success.

use crate::value::{Email, ExternalId, Name, Text};
use crate::{AccountId, ContactId, Patch, wire_enum};

wire_enum!(
    /// A stakeholder's role at the customer.
    ContactRole, "role" {
        /// Uses the product day to day.
        EndUser = "end_user" | "user" | "エンドユーザー",
        /// Administers the product.
        Admin = "admin" | "administrator" | "管理者",
        /// Champions the product inside the customer.
        Champion = "champion" | "チャンピオン",
        /// Decided to buy (導入決定者).
        DecisionMaker = "decision_maker" | "導入決定者",
        /// Executive sponsor.
        ExecutiveSponsor = "executive_sponsor" | "sponsor" | "エグゼクティブスポンサー",
        /// Receives the invoices.
        Billing = "billing" | "請求担当",
    }
);

wire_enum!(
    /// How a stakeholder feels about the product, as the CSM reads it.
    Sentiment, "sentiment" {
        /// Happy.
        Positive = "positive",
        /// Neither.
        Neutral = "neutral",
        /// Unhappy.
        Negative = "negative",
    }
);

wire_enum!(
    /// How much a stakeholder weighs in the customer's decisions.
    Influence, "influence" {
        /// Decides or sways decisions.
        High = "high" | "高",
        /// Heard.
        Medium = "medium" | "中",
        /// Little.
        Low = "low" | "低",
    }
);

wire_enum!(
    /// Where a contact came from: a person or a CRM (a stakeholder), or product usage (an
    /// `identify` call: a product user).
    ContactSource, "source" {
        /// Entered by a person, imported or sent through the API: a stakeholder.
        Crm = "crm",
        /// Written by product usage (`identify`): a product user.
        Product = "product",
    }
);

impl ContactSource {
    /// The source after a write from `incoming` on a contact from `self`: a contact a
    /// person or a CRM once named stays a stakeholder.
    pub fn after(self, incoming: ContactSource) -> ContactSource {
        if self == ContactSource::Crm || incoming == ContactSource::Crm {
            ContactSource::Crm
        } else {
            ContactSource::Product
        }
    }
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// The account the person works at.
    pub account_id: AccountId,
    /// Id in the customer's own systems.
    pub external_id: Option<ExternalId>,
    /// Name.
    pub name: Name,
    /// Email.
    pub email: Option<Email>,
    /// Role.
    pub role: Option<ContactRole>,
    /// Job title.
    pub title: Option<Name>,
    /// What success means to this person (personal success).
    pub personal_success: Option<Text>,
    /// Sentiment.
    pub sentiment: Option<Sentiment>,
    /// Influence on the customer's decisions.
    pub influence: Option<Influence>,
    /// Where it came from (stakeholder or product user).
    pub source: ContactSource,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

/// A contact to create or upsert by external id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    /// The account.
    pub account_id: AccountId,
    /// External id.
    pub external_id: Option<ExternalId>,
    /// Name.
    pub name: Name,
    /// Email.
    pub email: Option<Email>,
    /// Role.
    pub role: Option<ContactRole>,
    /// Job title.
    pub title: Option<Name>,
    /// Personal success criteria.
    pub personal_success: Option<Text>,
    /// Sentiment.
    pub sentiment: Option<Sentiment>,
    /// Influence.
    pub influence: Option<Influence>,
}

/// A change to a contact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactPatch {
    /// Move to another account.
    pub account_id: Option<AccountId>,
    /// External id.
    pub external_id: Patch<ExternalId>,
    /// Name.
    pub name: Option<Name>,
    /// Email.
    pub email: Patch<Email>,
    /// Role.
    pub role: Patch<ContactRole>,
    /// Title.
    pub title: Patch<Name>,
    /// Personal success.
    pub personal_success: Patch<Text>,
    /// Sentiment.
    pub sentiment: Patch<Sentiment>,
    /// Influence.
    pub influence: Patch<Influence>,
}
