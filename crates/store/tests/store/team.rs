//! The team and its credentials: partners, users, tokens, sessions, write keys, custom
//! field definitions, segments, metrics and playbook versions.

use crate::{backends, ok, partner_actor, seed};
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::segment::NewSegment;
use mikawaya_domain::user::NewUser;
use mikawaya_domain::value::{Email, ExternalId, Name, Slug};
use mikawaya_domain::{Actor, PartnerId};
use mikawaya_store::StoreError;

#[test]
fn partners_are_upserted_by_external_id_and_a_partner_sees_only_itself() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let manage = ok(Actor::system().manage());
        let renamed = ok(store.upsert_partner(
            &manage,
            NewPartner {
                external_id: Some(ok(ExternalId::parse("P-A"))),
                name: ok(Name::parse("Partner A, renamed")),
            },
        ));
        assert_eq!(
            renamed.id, world.partner_a,
            "{}: same external id, same partner",
            backend.name
        );
        let all = ok(store.list_partners(&Actor::system().read()));
        assert_eq!(all.len(), 2);
        let seen: Vec<PartnerId> = ok(store.list_partners(&partner_actor(world.partner_a).read()))
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(seen, vec![world.partner_a], "{}", backend.name);
        assert!(matches!(
            store.get_partner(&partner_actor(world.partner_a).read(), world.partner_b),
            Err(StoreError::NotFound { .. })
        ));
        // A partner still referenced by accounts is not deleted.
        let refused = store.delete_partner(&manage, world.partner_b);
        assert!(
            matches!(refused, Err(StoreError::Conflict { .. })),
            "{}: {refused:?}",
            backend.name
        );
        let spare = ok(store.upsert_partner(
            &manage,
            NewPartner {
                external_id: None,
                name: ok(Name::parse("Spare")),
            },
        ));
        ok(store.delete_partner(&manage, spare.id));
        assert!(matches!(
            store.get_partner(&Actor::system().read(), spare.id),
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[test]
fn users_log_in_by_email_and_tokens_and_sessions_are_found_by_hash() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let admin = ok(Actor::system().admin());
        let email = ok(Email::parse("Mio@Team.Example"));
        let user = ok(store.create_user(
            &admin,
            ok(NewUser::new(
                email.clone(),
                ok(Name::parse("Mio")),
                Role::Partner,
                Some(world.partner_a),
            )),
            Some("hash-1".to_owned()),
        ));
        let duplicate = store.create_user(
            &admin,
            ok(NewUser::new(
                email.clone(),
                ok(Name::parse("Mio 2")),
                Role::Csm,
                None,
            )),
            None,
        );
        assert!(
            matches!(duplicate, Err(StoreError::Conflict { .. })),
            "{}: {duplicate:?}",
            backend.name
        );
        let (found, hash) = ok(store.find_login(&email)).unwrap_or_else(|| panic!("no login"));
        assert_eq!((found.id, hash.as_deref()), (user.id, Some("hash-1")));
        ok(store.set_password(&admin, user.id, "hash-2".to_owned()));
        assert_eq!(
            ok(store.find_login(&email)).and_then(|(_, h)| h).as_deref(),
            Some("hash-2")
        );
        ok(store.set_locale(user.id, Some("ja".to_owned())));
        assert_eq!(
            ok(store.get_user(&Actor::system().read(), user.id))
                .locale
                .as_deref(),
            Some("ja")
        );

        let token = ok(store.create_token(
            &admin,
            ok(Name::parse("ci")),
            Scope::Read,
            Some(user.id),
            "token-hash".to_owned(),
        ));
        let (found, owner) =
            ok(store.find_token("token-hash")).unwrap_or_else(|| panic!("no token"));
        assert_eq!((found.id, owner.map(|u| u.id)), (token.id, Some(user.id)));
        assert_eq!(ok(store.list_tokens(&admin)).len(), 1);
        ok(store.revoke_token(&admin, token.id));
        assert!(
            ok(store.find_token("token-hash")).is_none(),
            "{}: a revoked token is not found",
            backend.name
        );

        let later = ok(jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)));
        ok(store.create_session("session-hash".to_owned(), user.id, "csrf".to_owned(), later));
        let session = ok(store.find_session("session-hash", jiff::Timestamp::now()))
            .unwrap_or_else(|| panic!("no session"));
        assert_eq!(
            (session.user.id, session.csrf_token.as_str()),
            (user.id, "csrf")
        );
        let after_expiry = ok(later.checked_add(jiff::SignedDuration::from_secs(1)));
        assert!(
            ok(store.find_session("session-hash", after_expiry)).is_none(),
            "{}: expired",
            backend.name
        );
        ok(store.delete_session("session-hash"));
        assert!(ok(store.find_session("session-hash", jiff::Timestamp::now())).is_none());

        let key = ok(store.create_write_key(&admin, ok(Name::parse("web")), "key-hash".to_owned()));
        assert_eq!(
            ok(store.find_write_key("key-hash")).map(|k| k.id),
            Some(key.id)
        );
        assert_eq!(ok(store.list_write_keys(&admin)).len(), 1);
        ok(store.revoke_write_key(&admin, key.id));
        assert!(ok(store.find_write_key("key-hash")).is_none());

        // A partner user sees the team, but only its own partner's users besides staff.
        let partner_users = ok(store.list_users(&partner_actor(world.partner_b).read()));
        assert!(
            partner_users.iter().all(|u| u.id != user.id),
            "{}: {partner_users:?}",
            backend.name
        );
        ok(store.delete_user(&admin, user.id));
        assert!(ok(store.find_login(&email)).is_none());
    }
}

#[test]
fn definitions_are_kept_by_name() {
    for backend in backends() {
        let store = backend.store.as_ref();
        seed(store);
        let admin = ok(Actor::system().admin());
        let manage = admin.manage();
        let field = ok(CustomFieldDef::new(
            ok(Slug::parse("industry")),
            ok(Name::parse("Industry")),
            CustomFieldKind::Text,
            vec![],
        ));
        ok(store.put_custom_field(&admin, field.clone()));
        assert_eq!(ok(store.list_custom_fields()), vec![field]);
        ok(store.delete_custom_field(&admin, "industry"));
        assert!(
            ok(store.list_custom_fields()).is_empty(),
            "{}",
            backend.name
        );

        ok(store.put_metric(&manage, "logins", "{\"kind\":\"count\"}"));
        assert_eq!(ok(store.get_metric("logins")), "{\"kind\":\"count\"}");
        assert_eq!(ok(store.list_metrics()).len(), 1);
        assert!(matches!(
            store.get_metric("nope"),
            Err(StoreError::NotFound { .. })
        ));

        assert_eq!(ok(store.put_playbook(&manage, "renewal", "{\"v\":1}")), 1);
        assert_eq!(
            ok(store.put_playbook(&manage, "renewal", "{\"v\":1}")),
            1,
            "{}: same spec, same version",
            backend.name
        );
        assert_eq!(ok(store.put_playbook(&manage, "renewal", "{\"v\":2}")), 2);
        ok(store.set_playbook_enabled(&manage, "renewal", false));
        let versions = ok(store.playbook_versions(&Actor::system().read(), Some("renewal")));
        assert_eq!(versions.len(), 2);
        assert!(versions.iter().all(|v| !v.enabled));

        let segment = ok(store.create_segment(
            &manage,
            NewSegment {
                name: ok(Name::parse("Big")),
                description: None,
                filter: AccountFilter::default(),
            },
        ));
        assert_eq!(
            ok(store.get_segment(&Actor::system().read(), segment.id))
                .name
                .to_string(),
            "Big"
        );
        ok(store.update_segment(
            &manage,
            segment.id,
            NewSegment {
                name: ok(Name::parse("Bigger")),
                description: None,
                filter: AccountFilter::default(),
            },
        ));
        assert_eq!(ok(store.list_segments(&Actor::system().read())).len(), 1);
        ok(store.delete_segment(&manage, segment.id));
        assert!(ok(store.list_segments(&Actor::system().read())).is_empty());

        ok(store.put_meta("service.fact", "1"));
        assert_eq!(ok(store.get_meta("service.fact")).as_deref(), Some("1"));
        let stats = ok(store.stats());
        assert_eq!(
            (
                stats.accounts,
                stats.contacts,
                stats.subscriptions,
                stats.touchpoints
            ),
            (3, 3, 3, 3)
        );
    }
}
