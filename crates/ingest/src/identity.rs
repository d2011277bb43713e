//! Identity changes into the store: `group` traits update (or create) the account whose
//! external id is the `groupId`; `identify` traits update (or create) the contact whose
//! external id is the `userId`, at the account the user belongs to.
//!
//! Rules:
//! - A group call with a `name` trait creates the account when it does not exist; without
//!   one it only updates an existing account. Traits used: `name`, `plan`.
//! - An identify call writes a contact once its user belongs to an account (now or by a
//!   later group call). Traits used: `name` (or `firstName` + `lastName`), `email`,
//!   `title`, `role` (a contact role such as `champion`); values that do not validate are
//!   left out rather than failing the event.
//! - Changes are applied at least once and are idempotent upserts; the store records the
//!   last applied log sequence so a restart skips what it has seen.

use crate::IngestError;
use crate::rollup::{IdentityChange, Rollups};
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::contact::ContactRole;
use mikawaya_domain::value::{Email, ExternalId, Name, Slug};
use mikawaya_domain::{Actor, Patch};
use mikawaya_store::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, PlanRef, Store, StoreError,
};
use std::collections::BTreeMap;

/// Identity changes waiting to be written, latest per entity.
#[derive(Debug, Default)]
pub struct Pending {
    accounts: BTreeMap<String, serde_json::Value>,
    contacts: BTreeMap<String, (String, serde_json::Value)>,
    through: Option<u64>,
}

impl Pending {
    /// Adds a change made by the record at `sequence`.
    pub fn push(&mut self, change: IdentityChange, rollups: &Rollups, sequence: u64) {
        self.through = Some(sequence);
        match change {
            IdentityChange::Account {
                external_id,
                user_id,
                traits,
            } => {
                if let Some(user_id) = user_id
                    && let Some(user_traits) = rollups.traits_of(&user_id)
                {
                    self.contacts
                        .insert(user_id, (external_id.clone(), user_traits.clone()));
                }
                let merged = match self.accounts.remove(&external_id) {
                    Some(serde_json::Value::Object(mut earlier)) => {
                        if let serde_json::Value::Object(later) = traits {
                            earlier.extend(later);
                        }
                        serde_json::Value::Object(earlier)
                    }
                    _ => traits,
                };
                self.accounts.insert(external_id, merged);
            }
            IdentityChange::Contact {
                account_external_id,
                user_id,
                traits,
            } => {
                self.contacts.insert(user_id, (account_external_id, traits));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.contacts.is_empty()
    }

    /// Whether every change pushed went to the store (or there were none).
    pub fn is_settled(&self) -> bool {
        self.through.is_none()
    }
}

fn text<'a>(traits: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    traits
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn account_record(
    store: &dyn Store,
    line: u64,
    external_id: &str,
    traits: &serde_json::Value,
) -> Result<Option<AccountRecord>, StoreError> {
    let Ok(external) = ExternalId::parse(external_id) else {
        return Ok(None);
    };
    let name = text(traits, "name").and_then(|n| Name::parse(n).ok());
    if name.is_none() {
        let filter = AccountFilter {
            external_id: Some(external.clone()),
            ..AccountFilter::default()
        };
        if store.count_accounts(&Actor::system().read(), &filter)? == 0 {
            return Ok(None);
        }
    }
    Ok(Some(AccountRecord {
        line,
        external_id: external,
        name: name.map_or(Patch::Keep, Patch::Set),
        parent_external_id: Patch::Keep,
        // A plan in any language: a slug as it is, a label named through the plan names.
        plan: text(traits, "plan")
            .and_then(|p| {
                Slug::parse(p).map(PlanRef::Slug).ok().or_else(|| {
                    mikawaya_domain::value::Name::parse(p)
                        .ok()
                        .map(PlanRef::Label)
                })
            })
            .map_or(Patch::Keep, Patch::Set),
        mrr: Patch::Keep,
        currency: Patch::Keep,
        contract_start: Patch::Keep,
        contract_end: Patch::Keep,
        renewal_date: Patch::Keep,
        owner_email: Patch::Keep,
        partner_external_id: Patch::Keep,
        stage: Patch::Keep,
        tier: Patch::Keep,
        custom_fields: BTreeMap::new(),
    }))
}

fn contact_record(
    line: u64,
    user_id: &str,
    account: &str,
    traits: &serde_json::Value,
) -> Option<ContactRecord> {
    let full_name = match (
        text(traits, "firstName").or(text(traits, "first_name")),
        text(traits, "lastName").or(text(traits, "last_name")),
    ) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    };
    let email = text(traits, "email").and_then(|e| Email::parse(e).ok());
    let name = text(traits, "name")
        .map(str::to_owned)
        .or(full_name)
        .or_else(|| email.as_ref().map(|e| e.to_string()))
        .unwrap_or_else(|| user_id.to_owned());
    Some(ContactRecord {
        line,
        external_id: Some(ExternalId::parse(user_id).ok()?),
        account_external_id: ExternalId::parse(account).ok()?,
        name: Name::parse(&name).ok()?,
        email,
        role: text(traits, "role").and_then(|r| ContactRole::parse(r).ok()),
        title: text(traits, "title").and_then(|t| Name::parse(t).ok()),
        source: mikawaya_domain::contact::ContactSource::Product,
        personal_success: None,
        influence: None,
        sentiment: None,
    })
}

/// Imports records, dropping rows the store rejects (each is logged) and trying once more.
fn import_tolerant(store: &dyn Store, batch: ImportBatch) -> Result<(), IngestError> {
    let access = Actor::system()
        .write()
        .map_err(|e| IngestError::Import(e.to_string()))?;
    match store.import(&access, batch.clone()) {
        Ok(_) => Ok(()),
        Err(StoreError::ImportRejected(rows)) => {
            for row in &rows {
                tracing::warn!(column = %row.column, reason = %row.reason, "identity change left out");
            }
            let rejected: std::collections::HashSet<u64> = rows.iter().map(|r| r.line).collect();
            let records = match batch.records {
                ImportRecords::Accounts(records) => ImportRecords::Accounts(
                    records
                        .into_iter()
                        .filter(|r| !rejected.contains(&r.line))
                        .collect(),
                ),
                ImportRecords::Contacts(records) => ImportRecords::Contacts(
                    records
                        .into_iter()
                        .filter(|r| !rejected.contains(&r.line))
                        .collect(),
                ),
                other => other,
            };
            match store.import(
                &access,
                ImportBatch {
                    records,
                    source_columns: BTreeMap::new(),
                },
            ) {
                Ok(_) | Err(StoreError::ImportRejected(_)) => Ok(()),
                Err(error) => Err(error.into()),
            }
        }
        Err(error) => Err(error.into()),
    }
}

/// Writes the pending changes (accounts first, then contacts) and records the checkpoint.
pub fn apply(
    store: &dyn Store,
    pending: &mut Pending,
    checkpoint_key: &str,
) -> Result<(), IngestError> {
    let Some(through) = pending.through else {
        return Ok(());
    };
    if !pending.is_empty() {
        let mut accounts = Vec::new();
        for (index, (external_id, traits)) in pending.accounts.iter().enumerate() {
            if let Some(record) = account_record(store, index as u64 + 2, external_id, traits)? {
                accounts.push(record);
            }
        }
        if !accounts.is_empty() {
            import_tolerant(
                store,
                ImportBatch {
                    records: ImportRecords::Accounts(accounts),
                    source_columns: BTreeMap::new(),
                },
            )?;
        }
        let contacts: Vec<ContactRecord> = pending
            .contacts
            .iter()
            .enumerate()
            .filter_map(|(index, (user_id, (account, traits)))| {
                contact_record(index as u64 + 2, user_id, account, traits)
            })
            .collect();
        if !contacts.is_empty() {
            import_tolerant(
                store,
                ImportBatch {
                    records: ImportRecords::Contacts(contacts),
                    source_columns: BTreeMap::new(),
                },
            )?;
        }
    }
    store.put_meta(checkpoint_key, &through.to_string())?;
    *pending = Pending::default();
    Ok(())
}
