//! Users of Mikawaya: the CS team and partner staff.

use crate::access::Role;
use crate::value::{Email, Name};
use crate::{PartnerId, UserId};

/// A stored user (without its password hash, which never leaves the store's auth calls).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Login email, unique.
    pub email: Email,
    /// Display name.
    pub name: Name,
    /// Role.
    pub role: Role,
    /// For partner users, their partner.
    pub partner_id: Option<PartnerId>,
    /// Preferred UI language (`ja` or `en`); none follows the browser.
    pub locale: Option<String>,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it was deactivated (it cannot log in or use a token); none: active.
    pub deactivated_at: Option<jiff::Timestamp>,
}

/// A change to a user (admins): name, role and partner; the role and the partner are
/// checked together, as when a user is created.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserChange {
    /// New name.
    pub name: Option<Name>,
    /// New role.
    pub role: Option<Role>,
    /// New partner (a partner user needs one; nobody else has one).
    pub partner_id: crate::patch::Patch<PartnerId>,
}

/// A user to create. A partner user has a partner, and no other user has one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    email: Email,
    name: Name,
    role: Role,
    partner_id: Option<PartnerId>,
}

impl NewUser {
    /// Checks that the partner fits the role.
    pub fn new(
        email: Email,
        name: Name,
        role: Role,
        partner_id: Option<PartnerId>,
    ) -> Result<Self, crate::Invalid> {
        match (role, partner_id) {
            (Role::Partner, None) => Err(crate::Invalid::new(
                "partner_id",
                "a partner user needs a partner",
            )),
            (Role::Partner, Some(_)) | (_, None) => Ok(Self {
                email,
                name,
                role,
                partner_id,
            }),
            (_, Some(_)) => Err(crate::Invalid::new(
                "partner_id",
                "only partner users belong to a partner",
            )),
        }
    }

    /// Login email.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// Display name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// Role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Partner, for partner users.
    pub fn partner_id(&self) -> Option<PartnerId> {
        self.partner_id
    }
}
