//! Account rules that hold whatever the backend: which partner an account written by a
//! caller must have, and how a patch changes an account (custom fields checked against
//! their definitions).

use crate::{Result, StoreError};
use mikawaya_domain::account::merge_custom;
use mikawaya_domain::account::{Account, AccountPatch};
use mikawaya_domain::custom_field::{CustomFieldDef, check_all};
use mikawaya_domain::{PartnerId, Patch, Visibility};

/// The partner an account written by this caller must have.
pub(crate) fn partner_for_write(
    visibility: Visibility,
    requested: Option<PartnerId>,
) -> Result<Option<PartnerId>> {
    match (visibility, requested) {
        (Visibility::All, requested) => Ok(requested),
        (Visibility::Partner(own), None) => Ok(Some(own)),
        (Visibility::Partner(own), Some(requested)) if requested == own => Ok(Some(own)),
        (Visibility::Partner(_), Some(_)) => Err(StoreError::Forbidden(
            "partner users can only assign their own partner",
        )),
    }
}

/// Whether making `parent` the parent of `child` closes a loop in the hierarchy: walking
/// up from `parent` (by `parent_of`) reaches `child`. Walks at most `limit` steps, so a
/// loop already stored cannot hang it.
pub(crate) fn closes_cycle(
    child: mikawaya_domain::AccountId,
    parent: mikawaya_domain::AccountId,
    parent_of: impl Fn(mikawaya_domain::AccountId) -> Result<Option<mikawaya_domain::AccountId>>,
) -> Result<bool> {
    const LIMIT: usize = 10_000;
    let mut current = Some(parent);
    for _ in 0..LIMIT {
        match current {
            None => return Ok(false),
            Some(id) if id == child => return Ok(true),
            Some(id) => current = parent_of(id)?,
        }
    }
    Ok(true)
}

/// The refusal of a parent that would make a loop.
pub(crate) fn cycle_refused(field: &'static str) -> StoreError {
    mikawaya_domain::Invalid::new(
        field,
        "would make a loop in the hierarchy (an account cannot be under its own child)",
    )
    .into()
}

/// Applies a patch to an account value (no IO but the custom field definitions).
pub(crate) fn apply_patch(
    mut account: Account,
    patch: AccountPatch,
    visibility: Visibility,
    definitions: &[CustomFieldDef],
) -> Result<Account> {
    let custom = check_all(definitions, &patch.custom_fields)?;
    account.external_id = patch.external_id.apply(account.external_id);
    if let Some(name) = patch.name {
        account.name = name;
    }
    account.parent_id = patch.parent_id.apply(account.parent_id);
    account.plan = patch.plan.apply(account.plan);
    if let Some(mrr) = patch.mrr {
        account.mrr = mrr;
    }
    if let Some(currency) = patch.currency {
        account.currency = currency;
    }
    account.contract_start = patch.contract_start.apply(account.contract_start);
    account.contract_end = patch.contract_end.apply(account.contract_end);
    account.renewal_date = patch.renewal_date.apply(account.renewal_date);
    account.owner_id = patch.owner_id.apply(account.owner_id);
    account.partner_id = match patch.partner_id {
        Patch::Keep => account.partner_id,
        Patch::Clear => partner_for_write(visibility, None)?,
        Patch::Set(partner_id) => partner_for_write(visibility, Some(partner_id))?,
    };
    if let (Visibility::Partner(_), Patch::Clear) = (visibility, &patch.partner_id) {
        return Err(StoreError::Forbidden(
            "partner users cannot release an account from their partner",
        ));
    }
    account.stage = patch.stage.apply(account.stage);
    account.tier = patch.tier.apply(account.tier);
    account.custom_fields = merge_custom(account.custom_fields, custom);
    account.updated_at = jiff::Timestamp::now();
    Ok(account)
}
