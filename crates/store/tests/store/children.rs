//! A visible account's rows change as asked: updates keep what they do not name, deletes
//! remove the row, filters by account list only that account's rows, and field changes are
//! recorded for the rules to read.

use crate::{backends, ok, seed};
use mikawaya_domain::Actor;
use mikawaya_domain::account::{AccountPatch, TouchTier};
use mikawaya_domain::contact::ContactPatch;
use mikawaya_domain::subscription::SubscriptionPatch;
use mikawaya_domain::value::Name;
use mikawaya_store::{ContactFilter, PageRequest, StoreError, SubscriptionFilter};

#[test]
fn updates_keep_what_they_do_not_name_and_deletes_remove() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let read = Actor::system().read();
        let before = jiff::Timestamp::now();
        let tiered = ok(store.update_account(
            &write,
            world.a.account,
            AccountPatch {
                tier: mikawaya_domain::Patch::Set(TouchTier::High),
                ..AccountPatch::default()
            },
        ));
        assert_eq!(
            (tiered.tier, tiered.name.to_string()),
            (Some(TouchTier::High), "Account a".to_owned())
        );
        let changes = ok(store.account_changes(&read, before));
        assert!(
            changes
                .iter()
                .any(|c| c.account_id == world.a.account && c.field == "tier"),
            "{}: {changes:?}",
            backend.name
        );

        let contact = ok(store.update_contact(
            &write,
            world.a.contact,
            ContactPatch {
                name: Some(ok(Name::parse("Contact a, renamed"))),
                ..ContactPatch::default()
            },
        ));
        assert_eq!(
            contact.email.map(|e| e.to_string()).as_deref(),
            Some("a@customer.example")
        );
        let subscription = ok(store.update_subscription(
            &write,
            world.a.subscription,
            SubscriptionPatch {
                quantity: Some(7),
                ..SubscriptionPatch::default()
            },
        ));
        assert_eq!(
            (subscription.quantity, subscription.plan.to_string()),
            (7, "pro".to_owned())
        );

        let page = PageRequest::first(10);
        let contacts = ok(store.list_contacts(
            &read,
            &ContactFilter {
                account_id: Some(world.b.account),
                ..ContactFilter::default()
            },
            &page,
        ));
        assert_eq!(
            contacts.data.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![world.b.contact]
        );
        let subscriptions = ok(store.list_subscriptions(
            &read,
            &SubscriptionFilter {
                account_id: Some(world.b.account),
                ..SubscriptionFilter::default()
            },
            &page,
        ));
        assert_eq!(subscriptions.data.len(), 1, "{}", backend.name);

        ok(store.delete_touchpoint(&write, world.a.touchpoint));
        ok(store.delete_contact(&write, world.a.contact));
        ok(store.delete_subscription(&write, world.a.subscription));
        assert!(matches!(
            store.get_touchpoint(&read, world.a.touchpoint),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.get_contact(&read, world.a.contact),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.get_subscription(&read, world.a.subscription),
            Err(StoreError::NotFound { .. })
        ));
        ok(store.delete_account(&write, world.direct.account));
        assert!(matches!(
            store.get_account(&read, world.direct.account),
            Err(StoreError::NotFound { .. })
        ));
        // Its children went with it.
        assert!(
            matches!(
                store.get_contact(&read, world.direct.contact),
                Err(StoreError::NotFound { .. })
            ),
            "{}",
            backend.name
        );
    }
}
