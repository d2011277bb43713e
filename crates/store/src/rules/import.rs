//! Bulk import, engine-neutral: references by external id and email are resolved, patches
//! are remapped onto the stored rows, contracts are checked, and every row error is
//! collected, naming the file's columns. A backend supplies the storage primitives
//! ([`ImportTarget`]) inside its own transaction and rolls back when this returns an error.

use super::external_ids::Keyed;
use crate::records::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, PlanRef, SubscriptionRecord,
    TouchpointRecord,
};
use crate::{ImportSummary, Result, RowError, StoreError};
use jiff::civil::Date;
use mikawaya_domain::account::{Account, AccountPatch};
use mikawaya_domain::contact::{Contact, ContactSource};
use mikawaya_domain::custom_field::CustomFieldDef;
use mikawaya_domain::subscription::{Subscription, Term};
use mikawaya_domain::touchpoint::NewTouchpoint;
use mikawaya_domain::user::{User, UserRef, fold_name};
use mikawaya_domain::value::{Currency, Email, ExternalId, Money, Slug};
use mikawaya_domain::{
    AccountId, ContactId, Invalid, PartnerId, Patch, SubscriptionId, UserId, Visibility,
    WriteAccess,
};
use std::collections::HashMap;

/// What an import needs from a backend, inside one transaction.
pub(crate) trait ImportTarget {
    /// The users the caller can see.
    fn users(&self, visibility: Visibility) -> Result<Vec<User>>;
    /// The plans' display names by slug.
    fn plan_names(&self) -> Result<Vec<(Slug, String)>>;
    /// Gives a plan its display name.
    fn set_plan_name(&self, slug: &Slug, name: &str) -> Result<()>;
    /// The visible partners' ids by external id.
    fn partners_by_external_id(&self, visibility: Visibility)
    -> Result<HashMap<String, PartnerId>>;
    /// The custom field definitions.
    fn custom_field_defs(&self) -> Result<Vec<CustomFieldDef>>;
    /// The stored external id that `wanted`, as written by a caller, stands for.
    fn placed_external_id(
        &self,
        keyed: Keyed,
        visibility: Visibility,
        wanted: &ExternalId,
    ) -> Result<ExternalId>;
    /// The account with this external id, whoever can see it.
    fn account_by_external_id(&self, external_id: &ExternalId) -> Result<Option<Account>>;
    /// Inserts (id 0) or replaces an account row; returns its id.
    fn save_account(&self, account: &Account) -> Result<AccountId>;
    /// Records the field changes of a saved account (`before`: none when it is new),
    /// its stage change included.
    fn record_changes(
        &self,
        id: AccountId,
        before: Option<&Account>,
        after: &Account,
    ) -> Result<()>;
    /// Sets or clears an account's parent.
    fn set_parent(&self, id: AccountId, parent: Option<AccountId>) -> Result<()>;
    /// An account's parent as stored now.
    fn parent_of(&self, id: AccountId) -> Result<Option<AccountId>>;
    /// The contact a row updates: by external id, else by email on the account.
    fn contact_for_upsert(
        &self,
        external_id: Option<&ExternalId>,
        account: AccountId,
        email: Option<&Email>,
    ) -> Result<Option<Contact>>;
    /// Whether a contact is visible.
    fn contact_visible(&self, visibility: Visibility, id: ContactId) -> Result<bool>;
    /// Inserts (id 0) or replaces a contact row.
    fn upsert_contact(&self, contact: &Contact) -> Result<ContactId>;
    /// The subscription a row updates: by external id, else by account, plan and start.
    fn subscription_for_upsert(
        &self,
        external_id: Option<&ExternalId>,
        account: AccountId,
        plan: &Slug,
        start: Date,
    ) -> Result<Option<Subscription>>;
    /// Whether a subscription is visible.
    fn subscription_visible(&self, visibility: Visibility, id: SubscriptionId) -> Result<bool>;
    /// Keeps the replaced version of a subscription in its history.
    fn keep_subscription_version(&self, previous: &Subscription, by: Option<UserId>) -> Result<()>;
    /// Inserts (id 0) or replaces a subscription row.
    fn save_subscription(&self, subscription: &Subscription) -> Result<SubscriptionId>;
    /// Inserts a touchpoint unless the same one is there; whether it was new.
    fn insert_touchpoint(&self, touchpoint: &NewTouchpoint) -> Result<bool>;
}

/// Collects row errors, naming columns as the file does.
struct Report<'a> {
    batch: &'a ImportBatch,
    errors: Vec<RowError>,
}

impl Report<'_> {
    /// The visible account a row refers to by external id; rejects the row when there is none.
    fn account(
        &mut self,
        target: &dyn ImportTarget,
        visibility: Visibility,
        line: u64,
        external_id: &ExternalId,
    ) -> Result<Option<Account>> {
        let account = visible_account(target, visibility, external_id)?;
        if account.is_none() {
            self.reject(
                line,
                "account_external_id",
                format!("no account with external id {external_id}"),
            );
        }
        Ok(account)
    }

    fn reject(&mut self, line: u64, canonical: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            line,
            column: self.batch.column(canonical),
            reason: reason.into(),
        });
    }

    /// Records a domain or store error against the column it concerns.
    fn reject_error(&mut self, line: u64, error: StoreError) -> Result<()> {
        match error {
            StoreError::Invalid(Invalid { field, reason }) => {
                let canonical = match field.as_str() {
                    "parent_id" => "parent_external_id".to_owned(),
                    "owner_id" => "owner_email".to_owned(),
                    "partner_id" => "partner_external_id".to_owned(),
                    other => other
                        .strip_prefix("custom_fields.")
                        .unwrap_or(other)
                        .to_owned(),
                };
                self.reject(line, &canonical, reason);
                Ok(())
            }
            StoreError::Conflict { field, reason } => {
                self.reject(line, &field, reason);
                Ok(())
            }
            StoreError::Forbidden(reason) => {
                self.reject(line, "partner_external_id", reason);
                Ok(())
            }
            other => Err(other),
        }
    }
}

/// Lookups loaded once per file.
struct References {
    users_by_email: HashMap<String, UserId>,
    /// Users by [`fold_name`] of their display name (two people may share one).
    users_by_name: HashMap<String, Vec<UserId>>,
    partners: HashMap<String, PartnerId>,
}

impl References {
    fn load(target: &dyn ImportTarget, visibility: Visibility) -> Result<Self> {
        let users = target.users(visibility)?;
        let mut users_by_name: HashMap<String, Vec<UserId>> = HashMap::new();
        for user in &users {
            users_by_name
                .entry(fold_name(user.name.as_str()))
                .or_default()
                .push(user.id);
        }
        Ok(Self {
            users_by_email: users.iter().map(|u| (u.email.to_string(), u.id)).collect(),
            users_by_name,
            partners: target.partners_by_external_id(visibility)?,
        })
    }

    /// The user a file names, or why there is none (only users the caller can see).
    fn user(&self, reference: &UserRef) -> std::result::Result<UserId, String> {
        match reference {
            UserRef::Email(email) => self
                .users_by_email
                .get(email.as_str())
                .copied()
                .ok_or_else(|| format!("no user with email {email}")),
            UserRef::Name(name) => match self.users_by_name.get(&fold_name(name.as_str())) {
                Some(ids) if ids.len() == 1 => Ok(ids[0]),
                Some(ids) => Err(format!(
                    "{} users are named {name}; give their email instead",
                    ids.len()
                )),
                None => Err(format!(
                    "no user named {name} (give a user's name or email)"
                )),
            },
        }
    }
}

/// The plans' display names, loaded once per file; labels met in the file are given
/// slugs (and names) as the rows are imported, in the same transaction.
struct Plans {
    by_slug: HashMap<String, String>,
    by_label: HashMap<String, Slug>,
}

impl Plans {
    fn load(target: &dyn ImportTarget) -> Result<Self> {
        let names = target.plan_names()?;
        Ok(Self {
            by_label: names
                .iter()
                .map(|(slug, name)| (fold_name(name), slug.clone()))
                .collect(),
            by_slug: names
                .into_iter()
                .map(|(slug, name)| (slug.as_str().to_owned(), name))
                .collect(),
        })
    }

    /// The slug of a plan as the file names it, naming new ones.
    fn resolve(&mut self, target: &dyn ImportTarget, plan: &PlanRef) -> Result<Slug> {
        match plan {
            PlanRef::Slug(slug) => Ok(slug.clone()),
            PlanRef::Named { slug, label } => {
                if !self.by_slug.contains_key(slug.as_str()) {
                    self.name(target, slug, label.as_str())?;
                }
                Ok(slug.clone())
            }
            PlanRef::Label(label) => {
                if let Some(slug) = self.by_label.get(&fold_name(label.as_str())) {
                    return Ok(slug.clone());
                }
                let slug = self.new_slug(label.as_str());
                self.name(target, &slug, label.as_str())?;
                Ok(slug)
            }
        }
    }

    fn name(&mut self, target: &dyn ImportTarget, slug: &Slug, label: &str) -> Result<()> {
        target.set_plan_name(slug, label)?;
        self.by_slug
            .insert(slug.as_str().to_owned(), label.to_owned());
        self.by_label.insert(fold_name(label), slug.clone());
        Ok(())
    }

    /// A slug for a label: its ASCII words (`Pro (annual)` → `pro-annual`), else `plan-N`.
    fn new_slug(&self, label: &str) -> Slug {
        let words: Vec<String> = mikawaya_domain::value::half_width(label)
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let free = |slug: &Slug| !self.by_slug.contains_key(slug.as_str());
        if let Ok(slug) = Slug::parse(&words.join("-"))
            && free(&slug)
        {
            return slug;
        }
        let mut n = 1u64;
        loop {
            if let Ok(slug) = Slug::parse(&format!("plan-{n}"))
                && free(&slug)
            {
                return slug;
            }
            n += 1;
        }
    }
}

/// Imports a batch through `target`, inside the backend's transaction: every row, or (on
/// any row error) an error naming every rejected row, after which the caller rolls back.
pub(crate) fn import(
    target: &dyn ImportTarget,
    access: &WriteAccess,
    batch: &ImportBatch,
) -> Result<ImportSummary> {
    let mut report = Report {
        batch,
        errors: Vec::new(),
    };
    let references = References::load(target, access.visibility())?;
    let mut plans = Plans::load(target)?;
    let summary = match &batch.records {
        ImportRecords::Accounts(records) => import_accounts(
            target,
            access,
            &references,
            &mut plans,
            records,
            &mut report,
        )?,
        ImportRecords::Contacts(records) => import_contacts(target, access, records, &mut report)?,
        ImportRecords::Subscriptions(records) => {
            import_subscriptions(target, access, &mut plans, records, &mut report)?
        }
        ImportRecords::Touchpoints(records) => {
            import_touchpoints(target, access, &references, records, &mut report)?
        }
    };
    if report.errors.is_empty() {
        Ok(summary)
    } else {
        report.errors.sort_by_key(|e| e.line);
        Err(StoreError::ImportRejected(report.errors))
    }
}

/// Finds a row's account by external id among those the caller can see.
fn visible_account(
    target: &dyn ImportTarget,
    visibility: Visibility,
    external_id: &ExternalId,
) -> Result<Option<Account>> {
    let stored = target.placed_external_id(Keyed::Account, visibility, external_id)?;
    Ok(target.account_by_external_id(&stored)?.filter(|account| {
        matches!(visibility, Visibility::All)
            || account.partner_id.map(Visibility::Partner) == Some(visibility)
    }))
}

fn blank_account(
    external_id: &ExternalId,
    record: &AccountRecord,
    visibility: Visibility,
) -> Option<Account> {
    let Patch::Set(name) = record.name.clone() else {
        return None;
    };
    let now = jiff::Timestamp::now();
    Some(Account {
        id: AccountId::new(0),
        external_id: Some(external_id.clone()),
        name,
        parent_id: None,
        plan: None,
        mrr: Money::ZERO,
        currency: Currency::default(),
        contract_start: None,
        contract_end: None,
        renewal_date: None,
        owner_id: None,
        partner_id: match visibility {
            Visibility::Partner(own) => Some(own),
            Visibility::All => None,
        },
        stage: None,
        tier: None,
        custom_fields: Default::default(),
        signals: mikawaya_domain::account::Signals::default(),
        created_at: now,
        updated_at: now,
    })
}

fn import_accounts(
    target: &dyn ImportTarget,
    access: &WriteAccess,
    references: &References,
    plans: &mut Plans,
    records: &[AccountRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let visibility = access.visibility();
    let definitions = target.custom_field_defs()?;
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    let mut parents: Vec<(u64, AccountId, Patch<ExternalId>)> = Vec::new();
    for record in records {
        let stored = target.placed_external_id(Keyed::Account, visibility, &record.external_id)?;
        let existing = target.account_by_external_id(&stored)?;
        let current = match existing {
            Some(account) if matches!(visibility, Visibility::Partner(own) if account.partner_id != Some(own)) =>
            {
                report.reject(
                    record.line,
                    "external_id",
                    "is used by an account you cannot change",
                );
                continue;
            }
            Some(account) => account,
            None => match blank_account(&stored, record, visibility) {
                Some(account) => account,
                None => {
                    report.reject(record.line, "name", "is required for a new account");
                    continue;
                }
            },
        };
        let is_new = current.id.get() == 0;
        let owner_id = match &record.owner_email {
            Patch::Set(owner) => match references.user(owner) {
                Ok(id) => Patch::Set(id),
                Err(reason) => {
                    report.reject(record.line, "owner_email", reason);
                    continue;
                }
            },
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        };
        let partner_id = match &record.partner_external_id {
            Patch::Set(external_id) => match references.partners.get(external_id.as_str()) {
                Some(id) => Patch::Set(*id),
                None => {
                    report.reject(
                        record.line,
                        "partner_external_id",
                        format!("no partner with external id {external_id}"),
                    );
                    continue;
                }
            },
            Patch::Clear if matches!(visibility, Visibility::Partner(_)) => Patch::Keep,
            other => other.clone().map(|_| PartnerId::new(0)),
        };
        let patch = AccountPatch {
            external_id: Patch::Keep,
            name: match &record.name {
                Patch::Set(name) => Some(name.clone()),
                _ => None,
            },
            parent_id: Patch::Keep,
            plan: match &record.plan {
                Patch::Set(plan) => Patch::Set(plans.resolve(target, plan)?),
                Patch::Clear => Patch::Clear,
                Patch::Keep => Patch::Keep,
            },
            mrr: match record.mrr {
                Patch::Set(mrr) => Some(mrr),
                Patch::Clear => Some(Money::ZERO),
                Patch::Keep => None,
            },
            currency: match &record.currency {
                Patch::Set(currency) => Some(currency.clone()),
                Patch::Clear => Some(Currency::default()),
                Patch::Keep => None,
            },
            contract_start: record.contract_start.clone(),
            contract_end: record.contract_end.clone(),
            renewal_date: record.renewal_date.clone(),
            owner_id,
            partner_id,
            stage: record.stage.clone(),
            tier: record.tier.clone(),
            custom_fields: record.custom_fields.clone(),
        };
        let before = (!is_new).then(|| current.clone());
        let account = match super::accounts::apply_patch(current, patch, visibility, &definitions) {
            Ok(account) => account,
            Err(error) => {
                report.reject_error(record.line, error)?;
                continue;
            }
        };
        if let Err(error) =
            mikawaya_domain::account::check_contract(account.contract_start, account.contract_end)
        {
            report.reject_error(record.line, error.into())?;
            continue;
        }
        match target.save_account(&account) {
            Ok(id) => {
                target.record_changes(id, before.as_ref(), &account)?;
                if is_new {
                    summary.created += 1;
                } else {
                    summary.updated += 1;
                }
                parents.push((record.line, id, record.parent_external_id.clone()));
            }
            Err(error) => report.reject_error(record.line, error)?,
        }
    }
    // Parents are resolved once every row is in, so a child may come before its parent.
    for (line, id, parent) in parents {
        let parent_id = match parent {
            Patch::Keep => continue,
            Patch::Clear => None,
            Patch::Set(external_id) => match visible_account(target, visibility, &external_id)? {
                Some(parent) if parent.id == id => {
                    report.reject(
                        line,
                        "parent_external_id",
                        "an account cannot be its own parent",
                    );
                    continue;
                }
                Some(parent)
                    if crate::rules::accounts::closes_cycle(id, parent.id, |a| {
                        target.parent_of(a)
                    })? =>
                {
                    report.reject(
                        line,
                        "parent_external_id",
                        "would make a loop in the hierarchy (an account cannot be under its own child)",
                    );
                    continue;
                }
                Some(parent) => Some(parent.id),
                None => {
                    report.reject(
                        line,
                        "parent_external_id",
                        format!("no account with external id {external_id}"),
                    );
                    continue;
                }
            },
        };
        target.set_parent(id, parent_id)?;
    }
    Ok(summary)
}

fn import_contacts(
    target: &dyn ImportTarget,
    access: &WriteAccess,
    records: &[ContactRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    for record in records {
        let Some(account) = report.account(
            target,
            access.visibility(),
            record.line,
            &record.account_external_id,
        )?
        else {
            continue;
        };
        if record.external_id.is_none() && record.email.is_none() {
            report.reject(
                record.line,
                "external_id",
                "a contact needs an external id or an email",
            );
            continue;
        }
        let external_id = record
            .external_id
            .as_ref()
            .map(|wanted| target.placed_external_id(Keyed::Contact, access.visibility(), wanted))
            .transpose()?;
        let existing =
            target.contact_for_upsert(external_id.as_ref(), account.id, record.email.as_ref())?;
        if let Some(existing) = &existing
            && !target.contact_visible(access.visibility(), existing.id)?
        {
            report.reject(
                record.line,
                "external_id",
                "is used by a contact you cannot change",
            );
            continue;
        }
        let now = jiff::Timestamp::now();
        let contact = match existing {
            Some(existing) => {
                summary.updated += 1;
                // Product usage does not overwrite the role a person or a CRM gave.
                let role = if record.source == ContactSource::Product
                    && existing.source == ContactSource::Crm
                {
                    existing.role.or(record.role)
                } else {
                    record.role.or(existing.role)
                };
                Contact {
                    account_id: account.id,
                    name: record.name.clone(),
                    email: record.email.clone().or(existing.email.clone()),
                    role,
                    source: existing.source.after(record.source),
                    title: record.title.clone().or(existing.title.clone()),
                    personal_success: record
                        .personal_success
                        .clone()
                        .or(existing.personal_success.clone()),
                    influence: record.influence.or(existing.influence),
                    sentiment: record.sentiment.or(existing.sentiment),
                    updated_at: now,
                    ..existing
                }
            }
            None => {
                summary.created += 1;
                Contact {
                    id: ContactId::new(0),
                    account_id: account.id,
                    external_id,
                    name: record.name.clone(),
                    email: record.email.clone(),
                    role: record.role,
                    title: record.title.clone(),
                    personal_success: record.personal_success.clone(),
                    sentiment: record.sentiment,
                    influence: record.influence,
                    source: record.source,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Err(error) = target.upsert_contact(&contact) {
            report.reject_error(record.line, error)?;
        }
    }
    Ok(summary)
}

fn import_subscriptions(
    target: &dyn ImportTarget,
    access: &WriteAccess,
    plans: &mut Plans,
    records: &[SubscriptionRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    for record in records {
        let Some(account) = report.account(
            target,
            access.visibility(),
            record.line,
            &record.account_external_id,
        )?
        else {
            continue;
        };
        let term = match Term::new(record.start, record.end) {
            Ok(term) => term,
            Err(error) => {
                report.reject(record.line, "end_date", error.reason);
                continue;
            }
        };
        let plan = plans.resolve(target, &record.plan)?;
        let external_id = record
            .external_id
            .as_ref()
            .map(|wanted| {
                target.placed_external_id(Keyed::Subscription, access.visibility(), wanted)
            })
            .transpose()?;
        let existing = target.subscription_for_upsert(
            external_id.as_ref(),
            account.id,
            &plan,
            record.start,
        )?;
        if let Some(existing) = &existing
            && !target.subscription_visible(access.visibility(), existing.id)?
        {
            report.reject(
                record.line,
                "external_id",
                "is used by a subscription you cannot change",
            );
            continue;
        }
        let now = jiff::Timestamp::now();
        let subscription = match existing {
            Some(existing) => {
                summary.updated += 1;
                let changed = existing.plan != plan
                    || existing.quantity != record.quantity
                    || existing.mrr != record.mrr
                    || existing.term != term
                    || existing.account_id != account.id;
                if !changed {
                    continue;
                }
                target.keep_subscription_version(&existing, access.user_id())?;
                Subscription {
                    account_id: account.id,
                    plan: plan.clone(),
                    quantity: record.quantity,
                    mrr: record.mrr,
                    term,
                    updated_at: now,
                    ..existing
                }
            }
            None => {
                summary.created += 1;
                Subscription {
                    id: SubscriptionId::new(0),
                    account_id: account.id,
                    external_id,
                    plan: plan.clone(),
                    quantity: record.quantity,
                    mrr: record.mrr,
                    term,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Err(error) = target.save_subscription(&subscription) {
            report.reject_error(record.line, error)?;
        }
    }
    Ok(summary)
}

fn import_touchpoints(
    target: &dyn ImportTarget,
    access: &WriteAccess,
    references: &References,
    records: &[TouchpointRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    for record in records {
        let Some(account) = report.account(
            target,
            access.visibility(),
            record.line,
            &record.account_external_id,
        )?
        else {
            continue;
        };
        let user_id = match &record.user_email {
            Some(user) => match references.user(user) {
                Ok(id) => Some(id),
                Err(reason) => {
                    report.reject(record.line, "user_email", reason);
                    continue;
                }
            },
            None => None,
        };
        let touchpoint = NewTouchpoint {
            account_id: account.id,
            kind: record.kind,
            occurred_at: record.occurred_at,
            user_id,
            summary: record.summary.clone(),
            attendees: Vec::new(),
            notes: None,
            sentiment: None,
        };
        if target.insert_touchpoint(&touchpoint)? {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
    }
    Ok(summary)
}
