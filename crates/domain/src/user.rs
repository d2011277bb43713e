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

/// A person as a file names them: by login email, or by display name as CRM exports
/// write owners (担当者: 山田 太郎).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// By login email.
    Email(Email),
    /// By display name, matched with [`fold_name`].
    Name(Name),
}

impl UserRef {
    /// An email when the text has an `@`, else a name.
    pub fn parse(raw: &str) -> Result<Self, crate::Invalid> {
        if raw.contains('@') {
            Email::parse(raw).map(Self::Email)
        } else {
            Name::parse(raw).map(Self::Name)
        }
    }
}

impl std::fmt::Display for UserRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Email(email) => write!(f, "{email}"),
            Self::Name(name) => write!(f, "{name}"),
        }
    }
}

/// A name folded for matching people: case, full-width letters and spaces (half- or
/// full-width) do not count, so `山田　太郎`, `山田 太郎` and `山田太郎` are one person, as
/// are `Taro Yamada` and `ｔａｒｏ yamada`.
pub fn fold_name(name: &str) -> String {
    crate::value::half_width(name)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_an_email_or_a_name_and_names_fold_spaces_width_and_case() {
        assert!(matches!(
            UserRef::parse("aoi@example.com"),
            Ok(UserRef::Email(_))
        ));
        assert!(matches!(UserRef::parse("山田 太郎"), Ok(UserRef::Name(_))));
        assert!(UserRef::parse("a@").is_err());
        assert_eq!(fold_name("山田　太郎"), fold_name("山田太郎"));
        assert_eq!(fold_name(" Taro  Yamada"), fold_name("ｔａｒｏ yamada"));
        assert_ne!(fold_name("山田太郎"), fold_name("山田次郎"));
    }
}
