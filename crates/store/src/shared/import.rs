//! Bulk import on SQLite: the storage primitives the engine-neutral import rules
//! (`crate::rules::import`) need, over the connection of the import's transaction.

use super::{accounts, children};
use crate::db::Db;
use crate::rules::external_ids::Keyed;
use crate::rules::import::ImportTarget;
use crate::{Result, StoreError};
use jiff::civil::Date;
use mikawaya_domain::account::Account;
use mikawaya_domain::contact::Contact;
use mikawaya_domain::custom_field::CustomFieldDef;
use mikawaya_domain::subscription::Subscription;
use mikawaya_domain::touchpoint::NewTouchpoint;
use mikawaya_domain::user::User;
use mikawaya_domain::value::{Email, ExternalId, Slug};
use mikawaya_domain::{AccountId, ContactId, PartnerId, SubscriptionId, UserId, Visibility};
use std::collections::{BTreeMap, HashMap};

/// The plans' display names by slug.
pub(crate) fn plan_names(db: &Db<'_>) -> Result<BTreeMap<String, String>> {
    Ok(db
        .query_map("SELECT slug, name FROM plan_names", &[], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .into_iter()
        .collect())
}

/// The import's transaction.
pub(crate) struct Target<'c, 'd>(pub(crate) &'c Db<'d>);

fn visible<T>(found: Result<T>) -> Result<bool> {
    match found {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

impl ImportTarget for Target<'_, '_> {
    fn users(&self, visibility: Visibility) -> Result<Vec<User>> {
        super::auth::list_users(self.0, visibility)
    }

    fn plan_names(&self) -> Result<Vec<(Slug, String)>> {
        Ok(plan_names(self.0)?
            .into_iter()
            .filter_map(|(slug, name)| Slug::parse(&slug).ok().map(|slug| (slug, name)))
            .collect())
    }

    fn set_plan_name(&self, slug: &Slug, name: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO plan_names (slug, name) VALUES (?1, ?2)
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name",
            &[slug.as_str().into(), name.into()],
        )?;
        Ok(())
    }

    fn partners_by_external_id(
        &self,
        visibility: Visibility,
    ) -> Result<HashMap<String, PartnerId>> {
        Ok(super::partners::list_partners(self.0, visibility)?
            .into_iter()
            .filter_map(|p| {
                p.external_id
                    .map(|external_id| (external_id.to_string(), p.id))
            })
            .collect())
    }

    fn custom_field_defs(&self) -> Result<Vec<CustomFieldDef>> {
        accounts::custom_field_defs(self.0)
    }

    fn placed_external_id(
        &self,
        keyed: Keyed,
        visibility: Visibility,
        wanted: &ExternalId,
    ) -> Result<ExternalId> {
        accounts::placed_external_id(self.0, keyed, visibility, wanted)
    }

    fn account_by_external_id(&self, external_id: &ExternalId) -> Result<Option<Account>> {
        accounts::find_by_external_id(self.0, external_id)
    }

    fn save_account(&self, account: &Account) -> Result<AccountId> {
        accounts::save(self.0, account)
    }

    fn record_changes(
        &self,
        id: AccountId,
        before: Option<&Account>,
        after: &Account,
    ) -> Result<()> {
        if let Some(before) = before {
            super::work::record_changes(self.0, before, after)?;
        }
        super::journey::record_changed(
            self.0,
            id,
            before.and_then(|b| b.stage.as_ref()),
            after.stage.as_ref(),
            crate::journey::StageSource::Import,
            None,
        )
    }

    fn set_parent(&self, id: AccountId, parent: Option<AccountId>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET parent_id = ?1 WHERE id = ?2",
            &[parent.map(AccountId::get).into(), id.get().into()],
        )?;
        Ok(())
    }

    fn parent_of(&self, id: AccountId) -> Result<Option<AccountId>> {
        accounts::parent_of(self.0, id)
    }

    fn contact_for_upsert(
        &self,
        external_id: Option<&ExternalId>,
        account: AccountId,
        email: Option<&Email>,
    ) -> Result<Option<Contact>> {
        children::find_contact_for_upsert(self.0, external_id, account, email)
    }

    fn contact_visible(&self, visibility: Visibility, id: ContactId) -> Result<bool> {
        visible(children::get_contact(self.0, visibility, id))
    }

    fn upsert_contact(&self, contact: &Contact) -> Result<ContactId> {
        children::upsert_contact(self.0, contact)
    }

    fn subscription_for_upsert(
        &self,
        external_id: Option<&ExternalId>,
        account: AccountId,
        plan: &Slug,
        start: Date,
    ) -> Result<Option<Subscription>> {
        children::find_subscription_for_upsert(self.0, external_id, account, plan, start)
    }

    fn subscription_visible(&self, visibility: Visibility, id: SubscriptionId) -> Result<bool> {
        visible(children::get_subscription(self.0, visibility, id))
    }

    fn keep_subscription_version(&self, previous: &Subscription, by: Option<UserId>) -> Result<()> {
        children::keep_version(self.0, previous, by)
    }

    fn save_subscription(&self, subscription: &Subscription) -> Result<SubscriptionId> {
        children::save_subscription(self.0, subscription)
    }

    fn insert_touchpoint(&self, touchpoint: &NewTouchpoint) -> Result<bool> {
        Ok(children::insert_touchpoint(self.0, touchpoint)?.1)
    }
}
