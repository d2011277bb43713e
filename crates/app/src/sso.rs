//! Who a single sign-on is: the identity provider vouches for an email (verified), a name
//! and groups; the person is the user with that email, or a new one. Roles come from the
//! groups when a mapping names one (the provider is the source of truth for them, and a
//! change is on the audit trail as the system's), else a new user gets the default role.
//! Partner users are not signed in this way (their partner cannot come from a provider).

use crate::Result;
use mikawaya_domain::access::Role;
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::{Actor, Invalid};
use mikawaya_store::{Store, StoreError};

/// How provider identities become users.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoPolicy {
    /// The role of a new user whose groups map to none.
    pub default_role: Role,
    /// Group → role, the first match in this order wins.
    pub group_roles: Vec<(String, Role)>,
}

impl SsoPolicy {
    /// Parses `group=role,group=role` (roles: admin, leader, csm, viewer).
    pub fn parse_groups(raw: &str) -> std::result::Result<Vec<(String, Role)>, Invalid> {
        raw.split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (group, role) = pair.split_once('=').ok_or_else(|| {
                    Invalid::new("oidc_groups", format!("'{pair}' is not GROUP=ROLE"))
                })?;
                let role = Self::role(role.trim(), "oidc_groups")?;
                Ok((group.trim().to_owned(), role))
            })
            .collect()
    }

    /// A role single sign-on may give (not partner).
    pub fn role(raw: &str, field: &str) -> std::result::Result<Role, Invalid> {
        match Role::parse(raw) {
            Ok(Role::Partner) => Err(Invalid::new(
                field,
                "partner users cannot sign in through single sign-on (their partner is set by an admin)",
            )),
            Ok(role) => Ok(role),
            Err(_) => Err(Invalid::new(
                field,
                format!("'{raw}' is not one of: admin, leader, csm, viewer"),
            )),
        }
    }

    fn role_of(&self, groups: &[String]) -> Option<Role> {
        self.group_roles
            .iter()
            .find(|(group, _)| groups.iter().any(|g| g == group))
            .map(|(_, role)| *role)
    }
}

/// What the provider vouched for.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The email (the provider said it is verified).
    pub email: String,
    /// The display name, if given.
    pub name: Option<String>,
    /// The groups, if given.
    pub groups: Vec<String>,
}

/// The user an identity is, created or brought up to date; a deactivated user or a
/// partner user is refused (`Forbidden`).
pub fn sign_in(store: &dyn Store, policy: &SsoPolicy, identity: &Identity) -> Result<User> {
    let email = Email::parse(&identity.email).map_err(|e| e.in_field("email"))?;
    let admin = Actor::system().admin()?;
    let read = Actor::system().read();
    let mapped = policy.role_of(&identity.groups);
    let existing = store
        .list_users(&read)?
        .into_iter()
        .find(|user| user.email == email);
    match existing {
        Some(user) if user.deactivated_at.is_some() => Err(StoreError::Forbidden(
            "this user is deactivated: ask an admin to activate them",
        )
        .into()),
        Some(user) if user.role == Role::Partner => {
            Err(StoreError::Forbidden("partner users sign in with their password").into())
        }
        Some(user) => match mapped.filter(|role| *role != user.role) {
            Some(role) => Ok(store.update_user(
                &admin,
                user.id,
                UserChange {
                    role: Some(role),
                    ..UserChange::default()
                },
            )?),
            None => Ok(user),
        },
        None => {
            let name = identity
                .name
                .as_deref()
                .and_then(|n| Name::parse(n).ok())
                .map_or_else(|| Name::parse(email.as_str()), Ok)?;
            let user = NewUser::new(email, name, mapped.unwrap_or(policy.default_role), None)?;
            Ok(store.create_user(&admin, user, None)?)
        }
    }
}
