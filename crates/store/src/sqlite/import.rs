//! Bulk import in one transaction: references by external id and email are resolved
//! here, every row error is collected, and any error rolls the whole file back.

use super::{accounts, children, team};
use crate::records::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, SubscriptionRecord, TouchpointRecord,
};
use crate::{ImportSummary, Result, RowError, StoreError};
use mikawaya_domain::account::{Account, AccountPatch};
use mikawaya_domain::contact::Contact;
use mikawaya_domain::subscription::{Subscription, Term};
use mikawaya_domain::touchpoint::NewTouchpoint;
use mikawaya_domain::value::{Currency, Email, ExternalId, Money};
use mikawaya_domain::{
    AccountId, ContactId, Invalid, PartnerId, Patch, SubscriptionId, UserId, Visibility,
    WriteAccess,
};
use rusqlite::Connection;
use std::collections::HashMap;

/// Collects row errors, naming columns as the file does.
struct Report<'a> {
    batch: &'a ImportBatch,
    errors: Vec<RowError>,
}

impl Report<'_> {
    /// The visible account a row refers to by external id; rejects the row when there is none.
    fn account(
        &mut self,
        connection: &Connection,
        visibility: Visibility,
        line: u64,
        external_id: &ExternalId,
    ) -> Result<Option<Account>> {
        let account = visible_account(connection, visibility, external_id)?;
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
    users: HashMap<String, UserId>,
    partners: HashMap<String, PartnerId>,
}

impl References {
    fn load(connection: &Connection, visibility: Visibility) -> Result<Self> {
        let users = team::list_users(connection, Visibility::All)?
            .into_iter()
            .map(|u| (u.email.to_string(), u.id))
            .collect();
        let partners = team::list_partners(connection, visibility)?
            .into_iter()
            .filter_map(|p| {
                p.external_id
                    .map(|external_id| (external_id.to_string(), p.id))
            })
            .collect();
        Ok(Self { users, partners })
    }

    fn user(&self, email: &Email) -> Option<UserId> {
        self.users.get(email.as_str()).copied()
    }
}

pub(crate) fn import(
    connection: &Connection,
    access: &WriteAccess,
    batch: &ImportBatch,
) -> Result<ImportSummary> {
    let mut report = Report {
        batch,
        errors: Vec::new(),
    };
    let references = References::load(connection, access.visibility())?;
    let summary = match &batch.records {
        ImportRecords::Accounts(records) => {
            import_accounts(connection, access, &references, records, &mut report)?
        }
        ImportRecords::Contacts(records) => {
            import_contacts(connection, access, records, &mut report)?
        }
        ImportRecords::Subscriptions(records) => {
            import_subscriptions(connection, access, records, &mut report)?
        }
        ImportRecords::Touchpoints(records) => {
            import_touchpoints(connection, access, &references, records, &mut report)?
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
    connection: &Connection,
    visibility: Visibility,
    external_id: &ExternalId,
) -> Result<Option<Account>> {
    Ok(
        accounts::find_by_external_id(connection, external_id)?.filter(|account| {
            matches!(visibility, Visibility::All)
                || account.partner_id.map(Visibility::Partner) == Some(visibility)
        }),
    )
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
        created_at: now,
        updated_at: now,
    })
}

fn import_accounts(
    connection: &Connection,
    access: &WriteAccess,
    references: &References,
    records: &[AccountRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let visibility = access.visibility();
    let definitions = accounts::custom_field_defs(connection)?;
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    let mut parents: Vec<(u64, AccountId, Patch<ExternalId>)> = Vec::new();
    for record in records {
        let existing = accounts::find_by_external_id(connection, &record.external_id)?;
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
            None => match blank_account(&record.external_id, record, visibility) {
                Some(account) => account,
                None => {
                    report.reject(record.line, "name", "is required for a new account");
                    continue;
                }
            },
        };
        let is_new = current.id.get() == 0;
        let owner_id = match &record.owner_email {
            Patch::Set(email) => match references.user(email) {
                Some(id) => Patch::Set(id),
                None => {
                    report.reject(
                        record.line,
                        "owner_email",
                        format!("no user with email {email}"),
                    );
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
            plan: record.plan.clone(),
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
        let account = match accounts::apply_patch(current, patch, visibility, &definitions) {
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
        match accounts::save(connection, &account) {
            Ok(id) => {
                if let Some(before) = &before {
                    super::work::record_changes(connection, before, &account)?;
                }
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
            Patch::Set(external_id) => match visible_account(connection, visibility, &external_id)?
            {
                Some(parent) if parent.id == id => {
                    report.reject(
                        line,
                        "parent_external_id",
                        "an account cannot be its own parent",
                    );
                    continue;
                }
                Some(parent) => Some(parent.id.get()),
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
        connection
            .prepare_cached("UPDATE accounts SET parent_id = ?1 WHERE id = ?2")?
            .execute(rusqlite::params![parent_id, id.get()])?;
    }
    Ok(summary)
}

fn import_contacts(
    connection: &Connection,
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
            connection,
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
        let existing = children::find_contact_for_upsert(
            connection,
            record.external_id.as_ref(),
            account.id,
            record.email.as_ref(),
        )?;
        if let Some(existing) = &existing
            && children::get_contact(connection, access.visibility(), existing.id).is_err()
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
                Contact {
                    account_id: account.id,
                    name: record.name.clone(),
                    email: record.email.clone().or(existing.email.clone()),
                    role: record.role.or(existing.role),
                    title: record.title.clone().or(existing.title.clone()),
                    updated_at: now,
                    ..existing
                }
            }
            None => {
                summary.created += 1;
                Contact {
                    id: ContactId::new(0),
                    account_id: account.id,
                    external_id: record.external_id.clone(),
                    name: record.name.clone(),
                    email: record.email.clone(),
                    role: record.role,
                    title: record.title.clone(),
                    personal_success: None,
                    sentiment: None,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Err(error) = children::upsert_contact(connection, &contact) {
            report.reject_error(record.line, error)?;
        }
    }
    Ok(summary)
}

fn import_subscriptions(
    connection: &Connection,
    access: &WriteAccess,
    records: &[SubscriptionRecord],
    report: &mut Report<'_>,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        rows: records.len() as u64,
        ..ImportSummary::default()
    };
    for record in records {
        let Some(account) = report.account(
            connection,
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
        let existing = children::find_subscription_for_upsert(
            connection,
            record.external_id.as_ref(),
            account.id,
            &record.plan,
            record.start,
        )?;
        if let Some(existing) = &existing
            && children::get_subscription(connection, access.visibility(), existing.id).is_err()
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
                let changed = existing.plan != record.plan
                    || existing.quantity != record.quantity
                    || existing.mrr != record.mrr
                    || existing.term != term
                    || existing.account_id != account.id;
                if !changed {
                    continue;
                }
                children::keep_version(connection, &existing, access.user_id())?;
                Subscription {
                    account_id: account.id,
                    plan: record.plan.clone(),
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
                    external_id: record.external_id.clone(),
                    plan: record.plan.clone(),
                    quantity: record.quantity,
                    mrr: record.mrr,
                    term,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Err(error) = children::save_subscription(connection, &subscription) {
            report.reject_error(record.line, error)?;
        }
    }
    Ok(summary)
}

fn import_touchpoints(
    connection: &Connection,
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
            connection,
            access.visibility(),
            record.line,
            &record.account_external_id,
        )?
        else {
            continue;
        };
        let user_id = match &record.user_email {
            Some(email) => match references.user(email) {
                Some(id) => Some(id),
                None => {
                    report.reject(
                        record.line,
                        "user_email",
                        format!("no user with email {email}"),
                    );
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
        };
        let (_, created) = children::insert_touchpoint(connection, &touchpoint)?;
        if created {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
    }
    Ok(summary)
}
