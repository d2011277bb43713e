//! Import records: rows of a file, already parsed into domain values by the import crate,
//! still holding references by external id or email that only the store can resolve.

use jiff::civil::Date;
use mikawaya_domain::Patch;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::contact::ContactRole;
use mikawaya_domain::touchpoint::TouchpointKind;
use mikawaya_domain::user::UserRef;
use mikawaya_domain::value::{Currency, Email, ExternalId, Money, Name, Slug, Text};
use std::collections::BTreeMap;

/// A plan as a file names it. Plans are stored as slugs; a label in any language gets one
/// from the plan names (the label becomes the slug's display name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanRef {
    /// A slug as it is (`pro`).
    Slug(Slug),
    /// A label a value translation turned into a slug (`プロ` → `pro`): the label is the
    /// slug's display name unless it has one.
    Named {
        /// The slug.
        slug: Slug,
        /// The file's label.
        label: Name,
    },
    /// A label only (`プロ`, `Pro (annual)`): the slug that has it as its name, else a new
    /// one made from it.
    Label(Name),
}

/// One accounts row. `Keep` means the column is not in the file; `Clear` an empty cell.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    /// Line in the file.
    pub line: u64,
    /// Upsert key.
    pub external_id: ExternalId,
    /// Name; required when the account is new.
    pub name: Patch<Name>,
    /// Parent, by external id (may be another row of the same file).
    pub parent_external_id: Patch<ExternalId>,
    /// Plan.
    pub plan: Patch<PlanRef>,
    /// MRR (clear = 0).
    pub mrr: Patch<Money>,
    /// Currency (clear = USD).
    pub currency: Patch<Currency>,
    /// Contract start.
    pub contract_start: Patch<Date>,
    /// Contract end.
    pub contract_end: Patch<Date>,
    /// Renewal date.
    pub renewal_date: Patch<Date>,
    /// Owner, by login email or display name.
    pub owner_email: Patch<UserRef>,
    /// Partner, by external id.
    pub partner_external_id: Patch<ExternalId>,
    /// Stage.
    pub stage: Patch<Slug>,
    /// Tier.
    pub tier: Patch<TouchTier>,
    /// Custom fields by key (raw; checked against definitions).
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// One contacts row; upserted by external id, else by account and email.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    /// Line in the file.
    pub line: u64,
    /// Upsert key.
    pub external_id: Option<ExternalId>,
    /// The account, by external id.
    pub account_external_id: ExternalId,
    /// Name.
    pub name: Name,
    /// Email.
    pub email: Option<Email>,
    /// Role.
    pub role: Option<ContactRole>,
    /// Job title (kept when absent).
    pub title: Option<Name>,
    /// A CRM file's rows are stakeholders; product usage writes product users.
    pub source: mikawaya_domain::contact::ContactSource,
    /// What success means to this person (kept when absent).
    pub personal_success: Option<mikawaya_domain::value::Text>,
    /// Influence (kept when absent).
    pub influence: Option<mikawaya_domain::contact::Influence>,
    /// Sentiment (kept when absent).
    pub sentiment: Option<mikawaya_domain::contact::Sentiment>,
}

/// One subscriptions row; upserted by external id, else by account, plan and start.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    /// Line in the file.
    pub line: u64,
    /// Upsert key.
    pub external_id: Option<ExternalId>,
    /// The account, by external id.
    pub account_external_id: ExternalId,
    /// Plan.
    pub plan: PlanRef,
    /// Quantity.
    pub quantity: u32,
    /// MRR.
    pub mrr: Money,
    /// Start.
    pub start: Date,
    /// End (none = still running).
    pub end: Option<Date>,
}

/// One touchpoints row.
#[derive(Debug, Clone, PartialEq)]
pub struct TouchpointRecord {
    /// Line in the file.
    pub line: u64,
    /// The account, by external id.
    pub account_external_id: ExternalId,
    /// Kind.
    pub kind: TouchpointKind,
    /// When.
    pub occurred_at: jiff::Timestamp,
    /// Who, by login email or display name.
    pub user_email: Option<UserRef>,
    /// What.
    pub summary: Option<Text>,
}

/// A whole file's records, of one kind, with the file's own name for each canonical column
/// (so errors name the column as the user wrote it).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBatch {
    /// The records.
    pub records: ImportRecords,
    /// Canonical column name → header in the file.
    pub source_columns: BTreeMap<String, String>,
}

/// Records of one kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportRecords {
    /// Accounts.
    Accounts(Vec<AccountRecord>),
    /// Contacts.
    Contacts(Vec<ContactRecord>),
    /// Subscriptions.
    Subscriptions(Vec<SubscriptionRecord>),
    /// Touchpoints.
    Touchpoints(Vec<TouchpointRecord>),
}

impl ImportBatch {
    /// The file's header for a canonical column (the canonical name when unmapped).
    pub fn column(&self, canonical: &str) -> String {
        self.source_columns
            .get(canonical)
            .cloned()
            .unwrap_or_else(|| canonical.to_owned())
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImportSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows that created an entity.
    pub created: u64,
    /// Rows that changed an existing entity (or matched one already there).
    pub updated: u64,
}
