//! Imports, through the engine-neutral rules over each backend's primitives: a file is
//! all or nothing with every bad row named, and a partner's file reaches only its own
//! accounts.

use crate::{backends, ok, partner_actor, seed};
use mikawaya_domain::Actor;
use mikawaya_domain::Patch;
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::value::{Email, ExternalId, Name};
use mikawaya_store::{AccountRecord, ContactRecord, ImportBatch, ImportRecords, StoreError};

fn account_row(line: u64, external_id: &str, name: Option<&str>) -> AccountRecord {
    AccountRecord {
        line,
        external_id: ok(ExternalId::parse(external_id)),
        name: name.map_or(Patch::Keep, |n| Patch::Set(ok(Name::parse(n)))),
        parent_external_id: Patch::Keep,
        plan: Patch::Keep,
        mrr: Patch::Keep,
        currency: Patch::Keep,
        contract_start: Patch::Keep,
        contract_end: Patch::Keep,
        renewal_date: Patch::Keep,
        owner_email: Patch::Keep,
        partner_external_id: Patch::Keep,
        stage: Patch::Keep,
        tier: Patch::Keep,
        custom_fields: Default::default(),
    }
}

fn batch(records: ImportRecords) -> ImportBatch {
    ImportBatch {
        records,
        source_columns: [("name".to_owned(), "会社名".to_owned())]
            .into_iter()
            .collect(),
    }
}

#[test]
fn a_file_is_imported_whole_or_not_at_all_with_every_bad_row_named() {
    for backend in backends() {
        let store = backend.store.as_ref();
        seed(store);
        let write = ok(Actor::system().write());
        let before = ok(store.count_accounts(&Actor::system().read(), &AccountFilter::default()));
        let mut bad_owner = account_row(4, "NEW-3", Some("Three"));
        bad_owner.owner_email = Patch::Set(ok(Email::parse("nobody@team.example")));
        let refused = store.import(
            &write,
            batch(ImportRecords::Accounts(vec![
                account_row(2, "NEW-1", Some("One")),
                account_row(3, "NEW-2", None),
                bad_owner,
            ])),
        );
        match refused {
            Err(StoreError::ImportRejected(rows)) => {
                let named: Vec<(u64, String)> =
                    rows.into_iter().map(|r| (r.line, r.column)).collect();
                // The name column is named as the file names it.
                assert_eq!(
                    named,
                    vec![(3, "会社名".to_owned()), (4, "owner_email".to_owned())],
                    "{}",
                    backend.name
                );
            }
            other => panic!(
                "{}: expected a rejected import, got {other:?}",
                backend.name
            ),
        }
        let after = ok(store.count_accounts(&Actor::system().read(), &AccountFilter::default()));
        assert_eq!(after, before, "{}: nothing was written", backend.name);
        let done = ok(store.import(
            &write,
            batch(ImportRecords::Accounts(vec![
                account_row(2, "NEW-1", Some("One")),
                account_row(3, "EXT-a", Some("Account a, renamed")),
            ])),
        ));
        assert_eq!((done.created, done.updated), (1, 1), "{}", backend.name);
    }
}

#[test]
fn a_partners_file_reaches_only_its_own_accounts() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(partner_actor(world.partner_a).write());
        let contact = |line, account: &str| ContactRecord {
            line,
            external_id: None,
            account_external_id: ok(ExternalId::parse(account)),
            name: ok(Name::parse("Kenji")),
            email: Some(ok(Email::parse("kenji@customer.example"))),
            role: None,
            title: None,
            source: mikawaya_domain::contact::ContactSource::Crm,
            personal_success: None,
            influence: None,
            sentiment: None,
        };
        let refused = store.import(
            &write,
            batch(ImportRecords::Contacts(vec![
                contact(2, "EXT-a"),
                contact(3, "EXT-b"),
            ])),
        );
        match refused {
            Err(StoreError::ImportRejected(rows)) => {
                assert_eq!(rows.len(), 1, "{}: {rows:?}", backend.name);
                // B's account is reported exactly as an account that does not exist.
                assert_eq!(rows[0].reason, "no account with external id EXT-b");
            }
            other => panic!(
                "{}: expected a rejected import, got {other:?}",
                backend.name
            ),
        }
        // A new account made by a partner's file belongs to that partner.
        ok(store.import(
            &write,
            batch(ImportRecords::Accounts(vec![account_row(
                2,
                "A-NEW",
                Some("New"),
            )])),
        ));
        let mine = ok(store.all_accounts(&partner_actor(world.partner_a).read()));
        assert!(
            mine.iter().any(
                |a| a.external_id.as_ref().map(ToString::to_string).as_deref() == Some("A-NEW")
            )
        );
        assert!(
            ok(store.all_accounts(&partner_actor(world.partner_b).read()))
                .iter()
                .all(|a| a.name.to_string() != "New")
        );
    }
}

/// A parent loop (A under B under A) is refused by a patch and by a file, and nothing of
/// the file is kept.
#[test]
fn a_parent_loop_is_refused_by_patch_and_by_import() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let write = ok(Actor::system().write());
        let read = Actor::system().read();
        let with_parent = |line, external_id: &str, parent: &str| {
            let mut row = account_row(line, external_id, Some(external_id));
            row.parent_external_id = Patch::Set(ok(ExternalId::parse(parent)));
            row
        };
        // A file whose rows make a loop is refused whole.
        let refused = store.import(
            &write,
            batch(ImportRecords::Accounts(vec![
                with_parent(2, "LOOP-A", "LOOP-B"),
                with_parent(3, "LOOP-B", "LOOP-A"),
            ])),
        );
        match refused {
            Err(StoreError::ImportRejected(rows)) => {
                assert!(
                    rows.iter()
                        .any(|r| r.line == 3 && r.column == "parent_external_id"),
                    "{}: {rows:?}",
                    backend.name
                );
            }
            other => panic!("{}: expected the loop refused, got {other:?}", backend.name),
        }
        assert_eq!(
            ok(store.count_accounts(&read, &AccountFilter::default())),
            0
        );
        // A → B → C stored; making A the child of C is refused by a patch.
        ok(store.import(
            &write,
            batch(ImportRecords::Accounts(vec![
                account_row(2, "TOP", Some("Top")),
                with_parent(3, "MID", "TOP"),
                with_parent(4, "LEAF", "MID"),
            ])),
        ));
        let id = |key: &str| {
            ok(store.list_accounts(
                &read,
                &AccountFilter {
                    external_id: Some(ok(ExternalId::parse(key))),
                    ..AccountFilter::default()
                },
                mikawaya_domain::account::AccountSort::default(),
                &mikawaya_store::PageRequest::first(1),
            ))
            .data[0]
                .id
        };
        let patch = mikawaya_domain::account::AccountPatch {
            parent_id: Patch::Set(id("LEAF")),
            ..Default::default()
        };
        match store.update_account(&write, id("TOP"), patch) {
            Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "parent_id"),
            other => panic!("{}: expected the loop refused, got {other:?}", backend.name),
        }
        assert_eq!(ok(store.get_account(&read, id("TOP"))).parent_id, None);
    }
}
