//! A visible account's rows change as asked: updates keep what they do not name, deletes
//! remove the row, filters by account list only that account's rows, and field changes are
//! recorded for the rules to read.

use crate::{backends, ok, seed};
use mikawaya_domain::account::NewAccount;
use mikawaya_domain::account::{AccountPatch, TouchTier};
use mikawaya_domain::contact::ContactPatch;
use mikawaya_domain::subscription::SubscriptionPatch;
use mikawaya_domain::subscription::{NewSubscription, Term};
use mikawaya_domain::value::{Money, Name, Slug};
use mikawaya_domain::{AccountId, Actor};
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

/// The facts the team's sums read, for the whole book and then for the accounts changed
/// since a stamp (edited, paying anew, scored, deleted, moved away from a partner).
#[test]
fn the_books_facts_come_whole_then_as_changes() {
    use mikawaya_domain::subscription::RevenueRow;
    use mikawaya_domain::value::Currency;
    use mikawaya_store::BookFacts;
    for backend in backends() {
        let store = backend.store.as_ref();
        let system = Actor::system();
        let (write, manage) = (ok(system.write()), ok(system.manage()));
        let csm = crate::person(
            store,
            "csm@example.com",
            "CSM",
            mikawaya_domain::access::Role::Csm,
        )
        .id;
        let partner = ok(store.upsert_partner(
            &manage,
            mikawaya_domain::partner::NewPartner {
                external_id: None,
                name: ok(Name::parse("Reseller")),
            },
        ))
        .id;
        let day = jiff::civil::date(2026, 3, 1);
        let after = |days: i64| ok(day.checked_add(jiff::Span::new().days(days)));
        // (owner, tier, currency, partner, account MRR, renewal, subscription MRR and term)
        let book = [
            // paying, renewing in 30 days, no health: at risk
            (
                Some(csm),
                Some(TouchTier::High),
                "USD",
                None,
                100.0,
                Some(after(30)),
                100.0,
                None,
            ),
            // paying, renewing after the 90 days
            (
                Some(csm),
                Some(TouchTier::High),
                "USD",
                None,
                50.0,
                Some(after(100)),
                50.0,
                None,
            ),
            // its subscription ended the day before: not paying
            (
                Some(csm),
                Some(TouchTier::High),
                "USD",
                None,
                200.0,
                None,
                200.0,
                Some(day),
            ),
            // a subscription of MRR 0 does not make it paying
            (None, None, "JPY", None, 10.0, Some(after(5)), 0.0, None),
            // a partner's, paying, renewing in 10 days with health 80: not at risk
            (
                Some(csm),
                Some(TouchTier::Low),
                "USD",
                Some(partner),
                20.0,
                Some(after(10)),
                20.0,
                None,
            ),
        ];
        let mut ids = Vec::new();
        for (index, (owner, tier, currency, partner, mrr, renewal, paid, end)) in
            book.into_iter().enumerate()
        {
            let mut new = NewAccount::named(ok(Name::parse(&format!("Book {index}"))));
            new.owner_id = owner;
            new.tier = tier;
            new.currency = ok(Currency::parse(currency));
            new.partner_id = partner;
            new.mrr = ok(Money::new(mrr));
            new.renewal_date = renewal;
            let account = ok(store.create_account(&write, new)).id;
            ok(store.create_subscription(
                &write,
                NewSubscription {
                    account_id: account,
                    external_id: None,
                    plan: ok(Slug::parse("pro")),
                    quantity: 1,
                    mrr: ok(Money::new(paid)),
                    term: ok(Term::new(jiff::civil::date(2025, 1, 1), end)),
                },
            ));
            ids.push(account);
        }
        ok(store.put_signals(
            &manage,
            day,
            &[mikawaya_store::work::SignalRow {
                account_id: ids[4],
                health: Some(80.0),
                health_change: None,
                forecast_risk: None,
                forecast_factors: Vec::new(),
            }],
        ));
        let read = system.read();
        let partner_read = crate::partner_actor(partner).read();
        let whole = ok(store.book_changes(&read, None));
        let facts = |id: AccountId| -> Option<BookFacts> {
            whole.facts.iter().find(|f| f.account_id == id).cloned()
        };
        assert!(whole.whole, "{}", backend.name);
        assert_eq!(
            whole.facts.iter().map(|f| f.account_id).collect::<Vec<_>>(),
            ids,
            "{}: every account, in order",
            backend.name
        );
        let start = jiff::civil::date(2025, 1, 1);
        assert_eq!(
            facts(ids[2]),
            Some(BookFacts {
                account_id: ids[2],
                external_id: None,
                plan: None,
                owner_id: Some(csm),
                partner_id: None,
                tier: Some(TouchTier::High),
                currency: ok(Currency::parse("USD")),
                mrr: 200.0,
                renewal_date: None,
                health: None,
                revenue: vec![RevenueRow {
                    account: ids[2],
                    mrr: 200.0,
                    term: ok(Term::new(start, Some(day))),
                }],
            }),
            "{}",
            backend.name
        );
        assert_eq!(
            facts(ids[3]).map(|f| (f.revenue.iter().map(|r| r.mrr).collect(), f.renewal_date)),
            Some((vec![0.0], Some(after(5)))),
            "{}",
            backend.name
        );
        assert_eq!(
            facts(ids[4]).map(|f| (f.health, f.partner_id, f.revenue.len())),
            Some((Some(80.0), Some(partner), 1)),
            "{}",
            backend.name
        );
        let partners = ok(store.book_changes(&partner_read, None));
        assert_eq!(
            partners
                .facts
                .iter()
                .map(|f| f.account_id)
                .collect::<Vec<_>>(),
            vec![ids[4]],
            "{}: a partner's own accounts only",
            backend.name
        );
        // Nothing changed: nothing to read.
        let same = ok(store.book_changes(&read, Some(whole.stamp)));
        assert_eq!(
            (same.stamp, same.whole, same.facts.len(), same.gone.len()),
            (whole.stamp, false, 0, 0),
            "{}",
            backend.name
        );
        // Four changes: an owner cleared, a new paying subscription, a score, a deletion.
        ok(store.update_account(
            &write,
            ids[0],
            AccountPatch {
                owner_id: mikawaya_domain::Patch::Clear,
                ..AccountPatch::default()
            },
        ));
        ok(store.create_subscription(
            &write,
            NewSubscription {
                account_id: ids[3],
                external_id: None,
                plan: ok(Slug::parse("pro")),
                quantity: 1,
                mrr: ok(Money::new(30.0)),
                term: ok(Term::new(after(-10), None)),
            },
        ));
        ok(store.put_signals(
            &manage,
            day,
            &[mikawaya_store::work::SignalRow {
                account_id: ids[1],
                health: Some(40.0),
                health_change: None,
                forecast_risk: None,
                forecast_factors: Vec::new(),
            }],
        ));
        ok(store.delete_account(&write, ids[2]));
        let changes = ok(store.book_changes(&read, Some(whole.stamp)));
        assert!(
            !changes.whole && changes.stamp > whole.stamp,
            "{}",
            backend.name
        );
        let changed: Vec<(
            AccountId,
            Option<mikawaya_domain::UserId>,
            Option<f64>,
            usize,
        )> = changes
            .facts
            .iter()
            .map(|f| (f.account_id, f.owner_id, f.health, f.revenue.len()))
            .collect();
        assert_eq!(
            changed,
            vec![
                (ids[0], None, None, 1),
                (ids[1], Some(csm), Some(40.0), 1),
                (ids[3], None, None, 2),
            ],
            "{}: the changed accounts only",
            backend.name
        );
        assert_eq!(changes.gone, vec![ids[2]], "{}", backend.name);
        // The partner's account moves to the vendor: gone from the partner's book. (Changes
        // to accounts a partner does not see come as gone too: none of its book.)
        let partners = ok(store.book_changes(&partner_read, Some(partners.stamp)));
        assert!(partners.facts.is_empty(), "{}", backend.name);
        ok(store.update_account(
            &write,
            ids[4],
            AccountPatch {
                partner_id: mikawaya_domain::Patch::Clear,
                ..AccountPatch::default()
            },
        ));
        let partners = ok(store.book_changes(&partner_read, Some(partners.stamp)));
        assert_eq!(
            (partners.whole, partners.facts.len(), partners.gone),
            (false, 0, vec![ids[4]]),
            "{}",
            backend.name
        );
        // A stamp older than the itemized changes reads the whole book.
        let restarted = ok(store.book_changes(&read, Some(-1)));
        assert!(restarted.whole, "{}", backend.name);
        assert_eq!(restarted.facts.len(), 4, "{}", backend.name);
    }
}

/// The lean reads of whole-book work (revenue rows, one field of every account) return what
/// the full reads do, scoped alike.
#[test]
fn revenue_rows_and_account_values_agree_with_the_full_reads() {
    use mikawaya_store::AccountField;
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        let mut patch = AccountPatch::default();
        patch.tier = mikawaya_domain::patch::Patch::Set(TouchTier::High);
        ok(store.update_account(&write, world.a.account, patch));
        for read in [
            Actor::system().read(),
            crate::partner_actor(world.partner_a).read(),
        ] {
            let full: Vec<_> = ok(store.all_subscriptions(&read))
                .iter()
                .map(mikawaya_domain::subscription::RevenueRow::from)
                .collect();
            assert_eq!(ok(store.revenue_rows(&read)), full, "{}", backend.name);
            let accounts = ok(store.all_accounts(&read));
            let tiers: Vec<_> = accounts
                .iter()
                .map(|a| (a.id, a.tier.map(|t| t.as_str().to_owned())))
                .collect();
            assert_eq!(
                ok(store.account_values(&read, &AccountField::Tier)),
                tiers,
                "{}",
                backend.name
            );
            let keys: Vec<_> = accounts
                .iter()
                .map(|a| (a.id, a.external_id.as_ref().map(|e| e.as_str().to_owned())))
                .collect();
            assert_eq!(
                ok(store.account_values(&read, &AccountField::ExternalId)),
                keys,
                "{}",
                backend.name
            );
            let partners: Vec<_> = accounts
                .iter()
                .map(|a| (a.id, a.partner_id.map(|p| p.to_string())))
                .collect();
            assert_eq!(
                ok(store.account_values(&read, &AccountField::Partner)),
                partners,
                "{}",
                backend.name
            );
        }
        assert_eq!(
            ok(store.account_values(
                &crate::partner_actor(world.partner_a).read(),
                &AccountField::Tier
            )),
            vec![(world.a.account, Some("high".to_owned()))],
            "{}",
            backend.name
        );
    }
}

/// A day's metric values and health snapshot for more accounts than one statement takes
/// (multi-row inserts of 500), nulls included, read back whole on both engines.
#[test]
fn a_days_values_and_health_for_many_accounts_are_stored_whole() {
    use mikawaya_store::work::HealthRow;
    for backend in backends() {
        let store = backend.store.as_ref();
        let system = Actor::system();
        let (write, manage, read) = (ok(system.write()), ok(system.manage()), system.read());
        let ids: Vec<_> = (0..1203)
            .map(|n| {
                ok(store.create_account(
                    &write,
                    NewAccount::named(ok(Name::parse(&format!("Many {n}")))),
                ))
                .id
            })
            .collect();
        let day = jiff::civil::date(2026, 3, 1);
        let values: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| (*id, (n % 3 != 0).then_some(n as f64 / 2.0)))
            .collect();
        ok(store.put_metric_values(&manage, "logins", day, &values));
        // Written twice: the day's values are replaced, not added.
        ok(store.put_metric_values(&manage, "logins", day, &values));
        for n in [0, 1, 500, 1001, 1202] {
            assert_eq!(
                ok(store.metric_series(&read, "logins", ids[n], day, day)),
                vec![(day, values[n].1)],
                "{}: account {n}",
                backend.name
            );
        }
        let rows: Vec<HealthRow> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| HealthRow {
                account_id: *id,
                day,
                score: (n % 4 != 0).then_some((n % 101) as f64),
                colour: (n % 4 != 0).then(|| "green".to_owned()),
                measures: Vec::new(),
                card: "default".to_owned(),
                cards_version: 3,
            })
            .collect();
        ok(store.put_health(&manage, "default", day, &rows));
        let back = ok(store.health_rows(&read, "default", None, day, day));
        assert_eq!(back.len(), rows.len(), "{}", backend.name);
        let mut back = back;
        back.sort_by_key(|r| r.account_id);
        assert_eq!(back, rows, "{}", backend.name);
    }
}
