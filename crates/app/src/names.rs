//! The names of the accounts and contacts a page lists, read one by one when they are few
//! and all at once when they are many (a page of items names a few accounts; a whole
//! book's items name most of them). An id the caller cannot see has no name.

use crate::Result;
use mikawaya_domain::{AccountId, ContactId, ReadAccess};
use mikawaya_store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Up to this many names are read one by one.
const ONE_BY_ONE: usize = 100;

/// The names of the visible accounts among `ids`.
pub fn accounts(
    store: &dyn Store,
    access: &ReadAccess,
    ids: impl IntoIterator<Item = AccountId>,
) -> Result<HashMap<AccountId, String>> {
    names_of(
        ids,
        |id| store.get_account(access, id).map(|a| a.name.to_string()),
        || {
            Ok(store
                .all_accounts(access)?
                .into_iter()
                .map(|a| (a.id, a.name.to_string()))
                .collect())
        },
    )
}

/// The names of the visible contacts among `ids`.
pub fn contacts(
    store: &dyn Store,
    access: &ReadAccess,
    ids: impl IntoIterator<Item = ContactId>,
) -> Result<HashMap<ContactId, String>> {
    names_of(
        ids,
        |id| store.get_contact(access, id).map(|c| c.name.to_string()),
        || {
            Ok(store
                .all_contacts(access)?
                .into_iter()
                .map(|c| (c.id, c.name.to_string()))
                .collect())
        },
    )
}

fn names_of<Id: Copy + Eq + Hash>(
    ids: impl IntoIterator<Item = Id>,
    one: impl Fn(Id) -> mikawaya_store::Result<String>,
    all: impl FnOnce() -> Result<HashMap<Id, String>>,
) -> Result<HashMap<Id, String>> {
    let wanted: HashSet<Id> = ids.into_iter().collect();
    if wanted.len() > ONE_BY_ONE {
        let mut names = all()?;
        names.retain(|id, _| wanted.contains(id));
        return Ok(names);
    }
    let mut names = HashMap::with_capacity(wanted.len());
    for id in wanted {
        match one(id) {
            Ok(name) => {
                names.insert(id, name);
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(names)
}
