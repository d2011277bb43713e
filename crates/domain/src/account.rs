//! Accounts: customer companies, with their revenue, contract, owner, partner, stage, tier
//! and custom fields; and the filters that list them.

use crate::custom_field::{CustomValue, CustomValues};
use crate::health::Colour;
use crate::value::{Currency, ExternalId, Money, Name, Slug};
use crate::{AccountId, Invalid, PartnerId, Patch, UserId, wire_enum};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

wire_enum!(
    /// The service model for an account (ハイタッチ / ロータッチ / テックタッチ).
    TouchTier, "tier" {
        /// A named CSM works the account closely.
        High = "high" | "high_touch" | "ハイタッチ",
        /// Pooled CSMs, one-to-few.
        Low = "low" | "low_touch" | "mid" | "ロータッチ",
        /// Digital, one-to-many.
        Tech = "tech" | "tech_touch" | "テックタッチ",
    }
);

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its id in the customer's CRM or billing system.
    pub external_id: Option<ExternalId>,
    /// Its name.
    pub name: Name,
    /// The parent company, if any.
    pub parent_id: Option<AccountId>,
    /// Plan key.
    pub plan: Option<Slug>,
    /// Monthly recurring revenue.
    pub mrr: Money,
    /// Currency of `mrr`.
    pub currency: Currency,
    /// Contract start.
    pub contract_start: Option<Date>,
    /// Contract end.
    pub contract_end: Option<Date>,
    /// Next renewal date.
    pub renewal_date: Option<Date>,
    /// Owner CSM.
    pub owner_id: Option<UserId>,
    /// Partner that owns the account.
    pub partner_id: Option<PartnerId>,
    /// Lifecycle stage key.
    pub stage: Option<Slug>,
    /// Touch tier.
    pub tier: Option<TouchTier>,
    /// Checked custom field values.
    pub custom_fields: CustomValues,
    /// What Mikawaya computed about it (health, forecast risk, last touch).
    pub signals: Signals,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

/// What Mikawaya computed about an account, kept beside it so that lists sort and filter by
/// it: the health in force on `day` (`mikawaya_app::health`'s rule) and its change over 30
/// days, the churn forecast's probability, refreshed by the daily run; and the last
/// touchpoint, kept by the store on every touchpoint written or deleted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// The day health and forecast were computed for.
    pub day: Option<Date>,
    /// Health score (0-100) in force on `day`.
    pub health: Option<f64>,
    /// Health on `day` minus health 30 days before.
    pub health_change: Option<f64>,
    /// Churn probability (0-1) by the latest forecast model.
    pub forecast_risk: Option<f64>,
    /// The forecast's top factors raising the risk (metric names), largest first.
    pub forecast_factors: Vec<String>,
    /// When the latest touchpoint happened.
    pub last_touch: Option<jiff::Timestamp>,
    /// Active success plans with an objective off track or missed.
    pub plans_off_track: u32,
    /// The earliest due day of an open milestone of an active success plan.
    pub plan_next_due: Option<Date>,
    /// The day the account entered its lifecycle stage.
    pub stage_since: Option<Date>,
    /// Whether it has been in that stage longer than the 75th percentile of its segment's
    /// completed stays (set by the daily run).
    pub stage_stuck: bool,
}

impl Signals {
    /// The health's colour.
    pub fn colour(&self) -> Option<Colour> {
        self.health.map(Colour::of)
    }
}

/// Whether an account is churned: its lifecycle stage is `churned`.
pub fn is_churned(stage: Option<&Slug>) -> bool {
    stage.is_some_and(|s| s.as_str() == CHURNED_STAGE)
}

/// The lifecycle stage of a churned account.
pub const CHURNED_STAGE: &str = "churned";

impl Account {
    /// Annual recurring revenue: twelve times MRR.
    pub fn arr(&self) -> f64 {
        self.mrr.annual()
    }
}

/// An account to create (or to upsert by external id).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    /// Its id in the customer's CRM or billing system.
    pub external_id: Option<ExternalId>,
    /// Its name.
    pub name: Name,
    /// The parent company.
    pub parent_id: Option<AccountId>,
    /// Plan key.
    pub plan: Option<Slug>,
    /// Monthly recurring revenue.
    pub mrr: Money,
    /// Currency.
    pub currency: Currency,
    /// Contract start.
    pub contract_start: Option<Date>,
    /// Contract end.
    pub contract_end: Option<Date>,
    /// Next renewal date.
    pub renewal_date: Option<Date>,
    /// Owner CSM.
    pub owner_id: Option<UserId>,
    /// Owning partner.
    pub partner_id: Option<PartnerId>,
    /// Lifecycle stage.
    pub stage: Option<Slug>,
    /// Touch tier.
    pub tier: Option<TouchTier>,
    /// Raw custom values, checked by the store against the definitions.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

impl NewAccount {
    /// A minimal account with a name and defaults elsewhere.
    pub fn named(name: Name) -> Self {
        Self {
            external_id: None,
            name,
            parent_id: None,
            plan: None,
            mrr: Money::ZERO,
            currency: Currency::default(),
            contract_start: None,
            contract_end: None,
            renewal_date: None,
            owner_id: None,
            partner_id: None,
            stage: None,
            tier: None,
            custom_fields: BTreeMap::new(),
        }
    }
}

/// A change to an account: each field kept, cleared or set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountPatch {
    /// New external id.
    pub external_id: Patch<ExternalId>,
    /// New name (cannot be cleared).
    pub name: Option<Name>,
    /// New parent.
    pub parent_id: Patch<AccountId>,
    /// New plan.
    pub plan: Patch<Slug>,
    /// New MRR (cannot be cleared).
    pub mrr: Option<Money>,
    /// New currency (cannot be cleared).
    pub currency: Option<Currency>,
    /// New contract start.
    pub contract_start: Patch<Date>,
    /// New contract end.
    pub contract_end: Patch<Date>,
    /// New renewal date.
    pub renewal_date: Patch<Date>,
    /// New owner.
    pub owner_id: Patch<UserId>,
    /// New partner.
    pub partner_id: Patch<PartnerId>,
    /// New stage.
    pub stage: Patch<Slug>,
    /// New tier.
    pub tier: Patch<TouchTier>,
    /// Custom values to set (a JSON value) or clear (null); keys not named are kept.
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// Checks that a contract ends after it starts.
pub fn check_contract(start: Option<Date>, end: Option<Date>) -> Result<(), Invalid> {
    match (start, end) {
        (Some(start), Some(end)) if end <= start => Err(Invalid::new(
            "contract_end",
            format!("{end} must be after contract_start {start}"),
        )),
        _ => Ok(()),
    }
}

/// Merges checked custom values into the current ones (None clears a key).
pub fn merge_custom(
    mut current: CustomValues,
    changes: BTreeMap<String, Option<CustomValue>>,
) -> CustomValues {
    for (key, value) in changes {
        match value {
            Some(value) => current.insert(key, value),
            None => current.remove(&key),
        };
    }
    current
}

/// A filter over account fields. Also the definition of a saved segment, evaluated when used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFilter {
    /// Substring of the name or external id (case-insensitive for ASCII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Exact external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<ExternalId>,
    /// Lifecycle stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Slug>,
    /// Touch tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<TouchTier>,
    /// Plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Slug>,
    /// Owner CSM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Owning partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    /// Parent account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<AccountId>,
    /// MRR at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrr_min: Option<f64>,
    /// MRR at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrr_max: Option<f64>,
    /// Renewal on or after this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_from: Option<Date>,
    /// Renewal on or before this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_to: Option<Date>,
    /// Health colour in force (from the account's signals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Colour>,
    /// True: churned accounts only (stage `churned`); false: active ones only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churned: Option<bool>,
    /// Churn forecast probability at least this (0-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_min: Option<f64>,
    /// Health change over 30 days at most this (-10: fell 10 points or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_change_max: Option<f64>,
    /// No touchpoint on or after this day (never touched included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untouched_since: Option<Date>,
    /// True: accounts with an active success plan whose objective is off track or missed;
    /// false: the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_off_track: Option<bool>,
    /// Accounts with a success plan milestone open and due before this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_overdue_on: Option<Date>,
    /// True: accounts stuck in their lifecycle stage; false: the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_stuck: Option<bool>,
    /// A custom field (its key) that must hold `custom_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key: Option<Slug>,
    /// The value `custom_key` must hold, as text (`true`/`false` for flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
}

impl AccountFilter {
    /// Whether an account meets every condition (the in-memory twin of the store's SQL).
    pub fn matches(&self, account: &Account) -> bool {
        let q_matches = self.q.as_deref().is_none_or(|q| {
            let q = q.trim().to_lowercase();
            account.name.as_str().to_lowercase().contains(&q)
                || account
                    .external_id
                    .as_ref()
                    .is_some_and(|id| id.as_str().to_lowercase().contains(&q))
        });
        q_matches
            && self
                .external_id
                .as_ref()
                .is_none_or(|id| account.external_id.as_ref() == Some(id))
            && self
                .stage
                .as_ref()
                .is_none_or(|s| account.stage.as_ref() == Some(s))
            && self.tier.is_none_or(|t| account.tier == Some(t))
            && self
                .plan
                .as_ref()
                .is_none_or(|p| account.plan.as_ref() == Some(p))
            && self.owner_id.is_none_or(|o| account.owner_id == Some(o))
            && self
                .partner_id
                .is_none_or(|p| account.partner_id == Some(p))
            && self.parent_id.is_none_or(|p| account.parent_id == Some(p))
            && self.mrr_min.is_none_or(|m| account.mrr.amount() >= m)
            && self.mrr_max.is_none_or(|m| account.mrr.amount() <= m)
            && self
                .renewal_from
                .is_none_or(|d| account.renewal_date.is_some_and(|r| r >= d))
            && self
                .renewal_to
                .is_none_or(|d| account.renewal_date.is_some_and(|r| r <= d))
            && self
                .health
                .is_none_or(|c| account.signals.colour() == Some(c))
            && self
                .churned
                .is_none_or(|c| is_churned(account.stage.as_ref()) == c)
            && self
                .risk_min
                .is_none_or(|m| account.signals.forecast_risk.is_some_and(|r| r >= m))
            && self
                .health_change_max
                .is_none_or(|m| account.signals.health_change.is_some_and(|c| c <= m))
            && self.untouched_since.is_none_or(|day| {
                account
                    .signals
                    .last_touch
                    .is_none_or(|touch| touch.to_string().as_str() < day.to_string().as_str())
            })
            && self
                .plan_off_track
                .is_none_or(|off| (account.signals.plans_off_track > 0) == off)
            && self
                .plan_overdue_on
                .is_none_or(|day| account.signals.plan_next_due.is_some_and(|due| due < day))
            && self
                .stage_stuck
                .is_none_or(|stuck| account.signals.stage_stuck == stuck)
            && self.custom_key.as_ref().is_none_or(|key| {
                account.custom_fields.get(key.as_str()).is_some_and(|v| {
                    Some(v.label()) == self.custom_value.clone().map(|w| w.trim().to_owned())
                })
            })
    }

    /// Combines two filters: every condition of both must hold. Where both set the same
    /// field, `other` wins.
    #[must_use]
    pub fn and(self, other: AccountFilter) -> AccountFilter {
        AccountFilter {
            q: other.q.or(self.q),
            external_id: other.external_id.or(self.external_id),
            stage: other.stage.or(self.stage),
            tier: other.tier.or(self.tier),
            plan: other.plan.or(self.plan),
            owner_id: other.owner_id.or(self.owner_id),
            partner_id: other.partner_id.or(self.partner_id),
            parent_id: other.parent_id.or(self.parent_id),
            mrr_min: other.mrr_min.or(self.mrr_min),
            mrr_max: other.mrr_max.or(self.mrr_max),
            renewal_from: other.renewal_from.or(self.renewal_from),
            renewal_to: other.renewal_to.or(self.renewal_to),
            health: other.health.or(self.health),
            churned: other.churned.or(self.churned),
            risk_min: other.risk_min.or(self.risk_min),
            health_change_max: other.health_change_max.or(self.health_change_max),
            untouched_since: other.untouched_since.or(self.untouched_since),
            plan_off_track: other.plan_off_track.or(self.plan_off_track),
            plan_overdue_on: other.plan_overdue_on.or(self.plan_overdue_on),
            stage_stuck: other.stage_stuck.or(self.stage_stuck),
            custom_key: other.custom_key.or(self.custom_key),
            custom_value: other.custom_value.or(self.custom_value),
        }
    }
}

wire_enum!(
    /// The field an account list is sorted by.
    AccountSortField, "sort" {
        /// Name, A to Z.
        Name = "name",
        /// MRR.
        Mrr = "mrr" | "arr",
        /// Renewal date; accounts without one come last.
        RenewalDate = "renewal_date" | "renewal",
        /// Creation order.
        CreatedAt = "created_at" | "id",
        /// Last change.
        UpdatedAt = "updated_at",
        /// Health score in force; accounts without one come last.
        Health = "health",
        /// Health change over 30 days; accounts without one come last.
        HealthChange = "health_change",
        /// Churn forecast probability; accounts without one come last.
        ForecastRisk = "forecast_risk" | "risk",
        /// Last touchpoint; accounts never touched come first ascending, last descending.
        LastTouch = "last_touch",
    }
);

/// How an account list is sorted: a field and a direction (`-mrr` = MRR descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSort {
    /// The field.
    pub field: AccountSortField,
    /// Descending when true.
    pub descending: bool,
}

impl AccountSort {
    /// Parses `field` or `-field`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        let (descending, field) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        Ok(Self {
            field: AccountSortField::parse(field)?,
            descending,
        })
    }
}

impl Default for AccountSort {
    fn default() -> Self {
        Self {
            field: AccountSortField::Name,
            descending: false,
        }
    }
}
