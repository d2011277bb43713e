//! Single sign-on identities becoming users: matched by email, provisioned with the
//! default role, roles from groups, deactivated and partner users refused.

use super::{TestResult, World};
use mikawaya_app::AppError;
use mikawaya_app::sso::{Identity, SsoPolicy, sign_in};
use mikawaya_domain::Actor;
use mikawaya_domain::access::Role;
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::user::NewUser;
use mikawaya_domain::value::{Email, Name};
use mikawaya_store::{Store, StoreError};

fn policy() -> Result<SsoPolicy, Box<dyn std::error::Error>> {
    Ok(SsoPolicy {
        default_role: Role::Viewer,
        group_roles: SsoPolicy::parse_groups("mikawaya-admins=admin, cs-leaders=leader")?,
    })
}

fn identity(email: &str, groups: &[&str]) -> Identity {
    Identity {
        email: email.to_owned(),
        name: Some("Hanako Sato".to_owned()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

#[test]
fn a_new_person_is_provisioned_with_the_default_role_or_their_groups_role() -> TestResult {
    let world = World::new()?;
    let policy = policy()?;
    let viewer = sign_in(
        &world.store,
        &policy,
        &identity("new@example.com", &["everyone"]),
    )?;
    assert_eq!(viewer.role, Role::Viewer);
    assert_eq!(viewer.name.as_str(), "Hanako Sato");
    let lead = sign_in(
        &world.store,
        &policy,
        &identity("lead@example.com", &["cs-leaders"]),
    )?;
    assert_eq!(lead.role, Role::Leader);
    // Both groups: the first mapping in the policy's order wins.
    let both = sign_in(
        &world.store,
        &policy,
        &identity("both@example.com", &["cs-leaders", "mikawaya-admins"]),
    )?;
    assert_eq!(both.role, Role::Admin);
    // Signing in again is the same user, not a second one.
    let again = sign_in(&world.store, &policy, &identity("NEW@example.com", &[]))?;
    assert_eq!(again.id, viewer.id);
    assert_eq!(world.store.list_users(&Actor::system().read())?.len(), 3);
    Ok(())
}

#[test]
fn an_existing_user_keeps_their_role_unless_a_group_names_another() -> TestResult {
    let world = World::new()?;
    let admin = Actor::system().admin()?;
    let csm = world.store.create_user(
        &admin,
        NewUser::new(
            Email::parse("csm@example.com")?,
            Name::parse("Jiro")?,
            Role::Csm,
            None,
        )?,
        None,
    )?;
    let policy = policy()?;
    let same = sign_in(
        &world.store,
        &policy,
        &identity("csm@example.com", &["everyone"]),
    )?;
    assert_eq!((same.id, same.role), (csm.id, Role::Csm));
    let promoted = sign_in(
        &world.store,
        &policy,
        &identity("csm@example.com", &["cs-leaders"]),
    )?;
    assert_eq!((promoted.id, promoted.role), (csm.id, Role::Leader));
    Ok(())
}

#[test]
fn deactivated_and_partner_users_are_refused_and_nothing_changes() -> TestResult {
    let world = World::new()?;
    let admin = Actor::system().admin()?;
    let gone = world.store.create_user(
        &admin,
        NewUser::new(
            Email::parse("gone@example.com")?,
            Name::parse("Gone")?,
            Role::Csm,
            None,
        )?,
        None,
    )?;
    world.store.set_user_active(&admin, gone.id, false)?;
    let partner = world.store.upsert_partner(
        &Actor::system().manage()?,
        NewPartner {
            external_id: None,
            name: Name::parse("Reseller")?,
        },
    )?;
    world.store.create_user(
        &admin,
        NewUser::new(
            Email::parse("agent@reseller.example")?,
            Name::parse("Agent")?,
            Role::Partner,
            Some(partner.id),
        )?,
        None,
    )?;
    let policy = policy()?;
    for email in ["gone@example.com", "agent@reseller.example"] {
        let refused = sign_in(
            &world.store,
            &policy,
            &identity(email, &["mikawaya-admins"]),
        );
        assert!(
            matches!(&refused, Err(AppError::Store(StoreError::Forbidden(_)))),
            "{email}: {refused:?}"
        );
    }
    let users = world.store.list_users(&Actor::system().read())?;
    assert!(users.iter().all(|u| u.role != Role::Admin), "{users:?}");
    assert!(
        sign_in(&world.store, &policy, &identity("not an email", &[])).is_err(),
        "an identity without a valid email"
    );
    Ok(())
}

#[test]
fn group_mappings_are_checked() {
    assert!(SsoPolicy::parse_groups("a=admin,b=viewer").is_ok());
    for wrong in ["admins", "a=owner", "a=partner"] {
        let error = SsoPolicy::parse_groups(wrong).err();
        assert_eq!(
            error.map(|e| e.field),
            Some("oidc_groups".to_owned()),
            "{wrong}"
        );
    }
}
