//! People and partners as an admin manages them, one home for the settings page, the API
//! and `mikawaya user`: a partner is named by its external id (what the CRM calls it) or
//! its number; a person is invited with a role (and a partner for partner staff) and a
//! first password shown once; roles change and people are deactivated, never lost. Every
//! change is recorded by the store with who, when, before and after.

use crate::Result;
use mikawaya_domain::access::{AdminAccess, Role};
use mikawaya_domain::patch::Patch;
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::{Email, ExternalId, Name};
use mikawaya_domain::{Invalid, PartnerId, ReadAccess, UserId};
use mikawaya_store::{Store, StoreError};

/// The partner a reference names: its external id (`PTN-3`), else its number (`3` or
/// `#3`). Unknown: invalid (field `partner`).
pub fn partner_by_ref(
    store: &dyn Store,
    access: &ReadAccess,
    reference: &str,
) -> Result<PartnerId> {
    let reference = reference.trim();
    let partners = store.list_partners(access)?;
    if let Ok(external) = ExternalId::parse(reference)
        && let Some(partner) = partners
            .iter()
            .find(|p| p.external_id.as_ref() == Some(&external))
    {
        return Ok(partner.id);
    }
    let number = reference.trim_start_matches('#');
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| partners.iter().find(|p| p.id.get() == n))
        .map(|p| p.id)
        .ok_or_else(|| {
            Invalid::new(
                "partner",
                format!("no partner with the external id or number '{reference}'"),
            )
            .into()
        })
}

/// Someone to invite.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Login email.
    pub email: String,
    /// Display name (default: the email).
    pub name: Option<String>,
    /// admin, leader, csm, partner or viewer.
    pub role: String,
    /// The partner, by external id or number (partner staff only).
    pub partner: Option<String>,
}

/// Checks an invitation: the email, name, role, and the partner it names.
pub fn check_invitation(
    store: &dyn Store,
    access: &ReadAccess,
    invitation: &Invitation,
) -> Result<NewUser> {
    let email = Email::parse(&invitation.email).map_err(|e| e.in_field("email"))?;
    let name = Name::parse(
        invitation
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(email.as_str()),
    )
    .map_err(|e| e.in_field("name"))?;
    let role = Role::parse(&invitation.role).map_err(|e| e.in_field("role"))?;
    let partner = match invitation
        .partner
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        Some(reference) => Some(partner_by_ref(store, access, reference)?),
        None => None,
    };
    NewUser::new(email, name, role, partner).map_err(|e| {
        if e.field == "partner_id" {
            Invalid::new("partner", e.reason).into()
        } else {
            e.into()
        }
    })
}

/// Creates the user with a password hash made by the caller (hashing is the edge's: it
/// holds the password hasher).
pub fn invite(
    store: &dyn Store,
    access: &AdminAccess,
    invitation: &Invitation,
    password_hash: Option<String>,
) -> Result<User> {
    let new = check_invitation(store, &access.manage().write().read(), invitation)?;
    Ok(store.create_user(access, new, password_hash)?)
}

/// A change to a person, as people write it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New partner by external id or number; `Some("")` removes it.
    pub partner: Option<String>,
}

/// Changes a person's name, role or partner.
pub fn change(
    store: &dyn Store,
    access: &AdminAccess,
    id: UserId,
    change: &Change,
) -> Result<User> {
    let read = access.manage().write().read();
    let name = match change.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(name) => Some(Name::parse(name).map_err(|e| e.in_field("name"))?),
        None => None,
    };
    let role = match change.role.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(role) => Some(Role::parse(role).map_err(|e| e.in_field("role"))?),
        None => None,
    };
    let partner_id = match change.partner.as_deref() {
        None => Patch::Keep,
        Some(reference) if reference.trim().is_empty() => Patch::Clear,
        Some(reference) => Patch::Set(partner_by_ref(store, &read, reference)?),
    };
    let user = store
        .update_user(
            access,
            id,
            UserChange {
                name,
                role,
                partner_id,
            },
        )
        .map_err(field_named_partner)?;
    Ok(user)
}

/// The domain names the partner `partner_id`; people name it `partner`.
fn field_named_partner(error: StoreError) -> StoreError {
    match error {
        StoreError::Invalid(invalid) if invalid.field == "partner_id" => {
            StoreError::Invalid(Invalid::new("partner", invalid.reason))
        }
        other => other,
    }
}
