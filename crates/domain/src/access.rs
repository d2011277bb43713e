//! Who may do what. An [`Actor`] is the authenticated caller; its methods hand out access
//! tokens (`ReadAccess`, `WriteAccess`, `ManageAccess`, `AdminAccess`) that the store
//! requires as arguments, so no code path can reach the data without passing a check.
//!
//! | role    | read                 | write customer data  | manage partners, segments | admin (users, tokens, fields) |
//! |---------|----------------------|----------------------|---------------------------|-------------------------------|
//! | admin   | all                  | yes                  | yes                       | yes                           |
//! | leader  | all                  | yes                  | yes                       | no                            |
//! | csm     | all                  | yes                  | no                        | no                            |
//! | partner | own partner's accounts | own partner's accounts | no                    | no                            |
//! | viewer  | all                  | no                   | no                        | no                            |
//!
//! An API token's scope caps its user's role further: `read` never writes, `write` never
//! administers.

use crate::{DomainError, PartnerId, UserId, wire_enum};

wire_enum!(
    /// The role of a Mikawaya user.
    Role, "role" {
        /// Everything, including users, tokens and configuration.
        Admin = "admin",
        /// CS leader: all customer data, partners and segments.
        Leader = "leader",
        /// Customer success manager: all customer data.
        Csm = "csm",
        /// Partner (代理店) staff: only the partner's own accounts.
        Partner = "partner",
        /// Read-only.
        Viewer = "viewer",
    }
);

wire_enum!(
    /// What an API token may do, at most.
    Scope, "scope" {
        /// Only reads.
        Read = "read",
        /// Reads and writes customer data.
        Write = "write",
        /// Everything the user's role allows.
        Admin = "admin",
    }
);

/// Which accounts a caller can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every account.
    All,
    /// Only accounts owned by this partner (and everything under them).
    Partner(PartnerId),
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    user_id: Option<UserId>,
    role: Role,
    partner_id: Option<PartnerId>,
    scope: Scope,
}

impl Actor {
    /// Builds an actor; a `partner` role needs its partner, and other roles have none.
    pub fn new(
        user_id: Option<UserId>,
        role: Role,
        partner_id: Option<PartnerId>,
        scope: Scope,
    ) -> Result<Self, DomainError> {
        match (role, partner_id) {
            (Role::Partner, None) => Err(DomainError::Invalid(crate::Invalid::new(
                "partner_id",
                "a partner user needs a partner",
            ))),
            (Role::Partner, Some(_)) => Ok(Self {
                user_id,
                role,
                partner_id,
                scope,
            }),
            (_, Some(_)) => Err(DomainError::Invalid(crate::Invalid::new(
                "partner_id",
                "only partner users belong to a partner",
            ))),
            (_, None) => Ok(Self {
                user_id,
                role,
                partner_id: None,
                scope,
            }),
        }
    }

    /// The system itself (CLI commands run by the operator, the demo generator).
    pub fn system() -> Self {
        Self {
            user_id: None,
            role: Role::Admin,
            partner_id: None,
            scope: Scope::Admin,
        }
    }

    /// The user behind this actor, if any (service tokens have none).
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// The actor's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The actor's token scope (full for sessions).
    pub fn scope(&self) -> Scope {
        self.scope
    }

    fn visibility(&self) -> Visibility {
        match self.partner_id {
            Some(partner_id) => Visibility::Partner(partner_id),
            None => Visibility::All,
        }
    }

    /// Read access: every role may read what it can see.
    pub fn read(&self) -> ReadAccess {
        ReadAccess {
            visibility: self.visibility(),
        }
    }

    /// Write access to customer data (accounts, contacts, subscriptions, touchpoints).
    pub fn write(&self) -> Result<WriteAccess, DomainError> {
        if self.scope == Scope::Read {
            return Err(DomainError::Forbidden("this token is read-only"));
        }
        match self.role {
            Role::Viewer => Err(DomainError::Forbidden("viewers cannot change data")),
            _ => Ok(WriteAccess {
                visibility: self.visibility(),
                user_id: self.user_id,
            }),
        }
    }

    /// Management of shared configuration: partners and segments.
    pub fn manage(&self) -> Result<ManageAccess, DomainError> {
        self.write()?;
        match self.role {
            Role::Admin | Role::Leader => Ok(ManageAccess {
                user_id: self.user_id,
            }),
            _ => Err(DomainError::Forbidden(
                "only admins and leaders manage partners and segments",
            )),
        }
    }

    /// Administration: users, API tokens, custom field definitions.
    pub fn admin(&self) -> Result<AdminAccess, DomainError> {
        if self.scope != Scope::Admin {
            return Err(DomainError::Forbidden("this token has no admin scope"));
        }
        match self.role {
            Role::Admin => Ok(AdminAccess {
                user_id: self.user_id,
            }),
            _ => Err(DomainError::Forbidden(
                "only admins manage users, tokens and settings",
            )),
        }
    }
}

/// Proof that the caller may read; says which accounts it can see.
#[derive(Debug, Clone, Copy)]
pub struct ReadAccess {
    visibility: Visibility,
}

impl ReadAccess {
    /// Which accounts are visible.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }
}

/// Proof that the caller may change customer data within its visibility.
#[derive(Debug, Clone, Copy)]
pub struct WriteAccess {
    visibility: Visibility,
    user_id: Option<UserId>,
}

impl WriteAccess {
    /// Which accounts may be changed.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }

    /// Who is writing, for audit fields.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// Writers can read what they can write.
    pub fn read(&self) -> ReadAccess {
        ReadAccess {
            visibility: self.visibility,
        }
    }
}

/// Proof that the caller may manage partners and segments.
#[derive(Debug, Clone, Copy)]
pub struct ManageAccess {
    user_id: Option<UserId>,
}

impl ManageAccess {
    /// Who is managing (none: the system), for the record of saved versions.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// Managers (admins and leaders) may change every account: what a managed operation
    /// (rule evaluation, tier assignment) writes needs no second check.
    pub fn write(&self) -> WriteAccess {
        WriteAccess {
            visibility: Visibility::All,
            user_id: self.user_id,
        }
    }
}

/// Proof that the caller is an administrator.
#[derive(Debug, Clone, Copy)]
pub struct AdminAccess {
    user_id: Option<UserId>,
}

impl AdminAccess {
    /// Who is administering (none: the system), for the audit trail.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// Admins may manage too.
    pub fn manage(&self) -> ManageAccess {
        ManageAccess {
            user_id: self.user_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, scope: Scope) -> Actor {
        let partner_id = (role == Role::Partner).then_some(PartnerId::new(1));
        match Actor::new(Some(UserId::new(1)), role, partner_id, scope) {
            Ok(actor) => actor,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn each_role_gets_exactly_its_column_of_the_table() {
        let table = [
            (Role::Admin, true, true, true),
            (Role::Leader, true, true, false),
            (Role::Csm, true, false, false),
            (Role::Partner, true, false, false),
            (Role::Viewer, false, false, false),
        ];
        for (role, write, manage, admin) in table {
            let actor = actor(role, Scope::Admin);
            assert_eq!(actor.write().is_ok(), write, "{role} write");
            assert_eq!(actor.manage().is_ok(), manage, "{role} manage");
            assert_eq!(actor.admin().is_ok(), admin, "{role} admin");
        }
    }

    #[test]
    fn token_scope_caps_the_role() {
        let read_only = actor(Role::Admin, Scope::Read);
        assert!(read_only.write().is_err());
        assert!(read_only.admin().is_err());
        let writer = actor(Role::Admin, Scope::Write);
        assert!(writer.write().is_ok());
        assert!(writer.admin().is_err());
    }

    #[test]
    fn partner_users_see_only_their_partner() {
        let partner = actor(Role::Partner, Scope::Admin);
        assert_eq!(
            partner.read().visibility(),
            Visibility::Partner(PartnerId::new(1))
        );
        assert!(Actor::new(None, Role::Partner, None, Scope::Read).is_err());
        assert!(Actor::new(None, Role::Csm, Some(PartnerId::new(1)), Scope::Read).is_err());
    }
}
