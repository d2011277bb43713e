//! The outbox and the stored series: a queued message is claimed once under a lease, its
//! delivery recorded; an idempotency key is one message; unsubscribed addresses are known;
//! metric values and health rows are kept per day and read within the caller's scope;
//! lists page by keyset; a backup is a working copy.

use crate::{DAY, backends, ok, seed};
use mikawaya_domain::account::{AccountFilter, AccountSort, NewAccount};
use mikawaya_domain::value::Name;
use mikawaya_domain::work::{Channel, MessageStatus};
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::PageRequest;
use mikawaya_store::work::{Delivery, NewMessage};

fn message(key: &str, recipient: &str, account: AccountId) -> NewMessage {
    NewMessage {
        idempotency_key: key.to_owned(),
        channel: Channel::Email,
        account_id: Some(account),
        contact_id: None,
        recipient: recipient.to_owned(),
        subject: Some("hello".to_owned()),
        body: "text".to_owned(),
        format: None,
        status: MessageStatus::Pending,
        reason: None,
        not_before: jiff::Timestamp::UNIX_EPOCH,
    }
}

#[test]
fn a_message_is_claimed_once_under_a_lease_and_its_delivery_recorded() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let system = Actor::system();
        let write = ok(system.write());
        ok(store.queue_message(
            &write,
            message("k-1", "a@customer.example", world.a.account),
        ));
        // The same idempotency key is one message.
        ok(store.queue_message(
            &write,
            message("k-1", "a@customer.example", world.a.account),
        ));
        let admin = ok(system.admin());
        assert_eq!(
            ok(store.list_messages(&admin, None)).len(),
            1,
            "{}",
            backend.name
        );
        let now = jiff::Timestamp::now();
        let lease = ok(now.checked_add(jiff::SignedDuration::from_mins(5)));
        let claimed = ok(store.claim_messages(&write, now, lease, 10));
        assert_eq!(claimed.len(), 1);
        assert!(
            ok(store.claim_messages(&write, now, lease, 10)).is_empty(),
            "{}: leased",
            backend.name
        );
        let since = ok(now.checked_sub(jiff::SignedDuration::from_hours(1)));
        assert_eq!(
            ok(store.emails_to_since(&system.read(), "a@customer.example", since)),
            1
        );
        // The claim holds for its sender; a claim taken after its lease ran out is the new
        // sender's, and the old one can no longer hold the message.
        let id = claimed[0].id;
        assert!(ok(store.hold_message(
            &write,
            id,
            claimed[0].attempts,
            lease
        )));
        let later = ok(lease.checked_add(jiff::SignedDuration::from_secs(1)));
        let reclaimed = ok(store.claim_messages(&write, later, later, 10));
        assert_eq!(reclaimed.len(), 1, "{}: the lease ran out", backend.name);
        assert_eq!(reclaimed[0].attempts, claimed[0].attempts + 1);
        assert!(
            !ok(store.hold_message(&write, id, claimed[0].attempts, later)),
            "{}: the first sender lost it",
            backend.name
        );
        assert!(ok(store.hold_message(
            &write,
            id,
            reclaimed[0].attempts,
            later
        )));
        ok(store.finish_message(&write, claimed[0].id, &Delivery::Sent { at: now }));
        let sent = ok(store.list_messages(&admin, Some(MessageStatus::Sent)));
        assert_eq!(sent.len(), 1, "{}", backend.name);
        assert!(ok(store.list_messages(&admin, Some(MessageStatus::Pending))).is_empty());

        ok(store.queue_message(
            &write,
            message("k-2", "b@customer.example", world.b.account),
        ));
        assert!(!ok(
            store.is_unsubscribed(&system.read(), "b@customer.example")
        ));
        ok(store.unsubscribe(&write, "B@Customer.Example"));
        assert!(
            ok(store.is_unsubscribed(&system.read(), "b@customer.example")),
            "{}",
            backend.name
        );
        // What was queued for the address is suppressed.
        let suppressed = ok(store.list_messages(&admin, Some(MessageStatus::Suppressed)));
        assert_eq!(suppressed.len(), 1, "{}", backend.name);
    }
}

#[test]
fn series_and_snapshots_are_kept_per_day() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let read = Actor::system().read();
        assert_eq!(ok(store.metric_days("logins")), vec![DAY]);
        assert_eq!(ok(store.health_days("default")), vec![DAY]);
        let week_before = ok(DAY.checked_sub(jiff::Span::new().days(7)));
        assert_eq!(
            ok(store.latest_health_day("default", week_before, DAY)),
            Some(DAY)
        );
        let day_before = ok(DAY.yesterday());
        assert_eq!(
            ok(store.latest_health_day("default", week_before, day_before)),
            None
        );
        // Writing a day again replaces it.
        ok(store.put_metric_values(
            &ok(Actor::system().manage()),
            "logins",
            DAY,
            &[(world.a.account, Some(5.0))],
        ));
        assert_eq!(
            ok(store.metric_series(&read, "logins", world.a.account, DAY, DAY)),
            vec![(DAY, Some(5.0))]
        );
        assert!(
            ok(store.metric_series(&read, "logins", world.b.account, DAY, DAY)).is_empty(),
            "{}",
            backend.name
        );
        let rows = ok(store.health_rows(&read, "default", None, DAY, DAY));
        assert_eq!(rows.len(), 3);
    }
}

#[test]
fn lists_page_by_keyset_without_gaps_or_repeats() {
    for backend in backends() {
        let store = backend.store.as_ref();
        seed(store);
        let read = Actor::system().read();
        let mut seen = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let found = ok(store.list_accounts(
                &read,
                &AccountFilter::default(),
                AccountSort::default(),
                &page,
            ));
            seen.extend(found.data.iter().map(|a| a.id));
            match found.next_cursor {
                Some(cursor) => page = ok(PageRequest::new(Some(2), Some(cursor.as_str()))),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!((seen.len(), sorted.len()), (3, 3), "{}", backend.name);
    }
}

#[test]
fn a_backup_is_a_working_copy() {
    for backend in backends() {
        let store = backend.store.as_ref();
        seed(store);
        let copy = backend._dir.path().join("copy.db");
        ok(store.backup(&ok(Actor::system().admin()), &copy));
        let restored = (backend.restore)(&copy);
        assert_eq!(ok(restored.stats()), ok(store.stats()), "{}", backend.name);
        assert_eq!(ok(restored.stats()).accounts, 3, "{}", backend.name);
        // The copy is a working store: it takes writes.
        ok(restored.create_account(
            &ok(Actor::system().write()),
            NewAccount::named(ok(Name::parse("After the restore"))),
        ));
        assert_eq!(ok(restored.stats()).accounts, 4, "{}", backend.name);
    }
}

#[test]
fn a_lease_has_one_holder_until_it_runs_out_or_is_given_back() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let manage = ok(Actor::system().manage());
        let now = jiff::Timestamp::now();
        let until = ok(now.checked_add(jiff::SignedDuration::from_mins(10)));
        assert!(ok(store.take_lease(&manage, "daily", "node-a", until, now)));
        // Another node asks: refused while it runs; the holder renews.
        assert!(
            !ok(store.take_lease(&manage, "daily", "node-b", until, now)),
            "{}",
            backend.name
        );
        assert!(ok(store.take_lease(&manage, "daily", "node-a", until, now)));
        // Leases are per job.
        assert!(ok(store.take_lease(&manage, "other", "node-b", until, now)));
        // The holder died: once its lease ran out, the next asker gets it.
        let after = ok(until.checked_add(jiff::SignedDuration::from_secs(1)));
        let later = ok(after.checked_add(jiff::SignedDuration::from_mins(10)));
        assert!(
            ok(store.take_lease(&manage, "daily", "node-b", later, after)),
            "{}",
            backend.name
        );
        assert!(!ok(
            store.take_lease(&manage, "daily", "node-a", later, after)
        ));
        // Given back, it is free at once; giving back what one does not hold does nothing.
        ok(store.release_lease(&manage, "daily", "node-a"));
        assert!(!ok(
            store.take_lease(&manage, "daily", "node-c", later, after)
        ));
        ok(store.release_lease(&manage, "daily", "node-b"));
        assert!(
            ok(store.take_lease(&manage, "daily", "node-c", later, after)),
            "{}",
            backend.name
        );
    }
}
