//! Imports, through the engine-neutral rules over each backend's primitives: a file is
//! all or nothing with every bad row named, and a partner's file reaches only its own
//! accounts.

use crate::{backends, ok, partner_actor, seed};
use mikawaya_domain::Actor;
use mikawaya_domain::Patch;
use mikawaya_domain::access::Role;
use mikawaya_domain::account::AccountFilter;
use mikawaya_domain::user::{NewUser, UserRef};
use mikawaya_domain::value::Slug;
use mikawaya_domain::value::{Email, ExternalId, Name};
use mikawaya_store::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, PlanRef, StoreError,
};

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
        bad_owner.owner_email = Patch::Set(UserRef::Email(ok(Email::parse("nobody@team.example"))));
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

#[test]
fn owners_are_found_by_name_and_plans_named_in_any_language_get_a_slug_and_keep_the_label() {
    for backend in backends() {
        let store = backend.store.as_ref();
        seed(store);
        let admin = ok(Actor::system().admin());
        for (email, name) in [
            ("taro@team.example", "山田 太郎"),
            ("ken1@team.example", "Ken Sato"),
            ("ken2@team.example", "Ken Sato"),
        ] {
            let user = ok(NewUser::new(
                ok(Email::parse(email)),
                ok(Name::parse(name)),
                Role::Csm,
                None,
            ));
            ok(store.create_user(&admin, user, None));
        }
        let write = ok(Actor::system().write());
        let name = |raw: &str| ok(Name::parse(raw));
        let mut rows = Vec::new();
        for (line, external_id, owner, plan) in [
            (2, "J-1", "山田太郎", PlanRef::Label(name("プロ"))),
            (3, "J-2", "山田　太郎", PlanRef::Label(name("ｐｒｏ"))),
            (
                4,
                "J-3",
                "taro@team.example",
                PlanRef::Label(name("Pro (annual)")),
            ),
            (
                5,
                "J-4",
                "taro@team.example",
                PlanRef::Named {
                    slug: ok(Slug::parse("standard")),
                    label: name("スタンダード"),
                },
            ),
            (6, "J-5", "taro@team.example", PlanRef::Label(name("プロ"))),
        ] {
            let mut row = account_row(line, external_id, Some(external_id));
            row.owner_email = Patch::Set(ok(UserRef::parse(owner)));
            row.plan = Patch::Set(plan);
            rows.push(row);
        }
        // Two people share a name: the row is refused and says to give the email.
        let mut ambiguous = account_row(7, "J-6", Some("J-6"));
        ambiguous.owner_email = Patch::Set(ok(UserRef::parse("ken sato")));
        let mut unknown = account_row(8, "J-7", Some("J-7"));
        unknown.owner_email = Patch::Set(ok(UserRef::parse("鈴木 花子")));
        let mut refused = rows.clone();
        refused.extend([ambiguous, unknown]);
        match store.import(&write, batch(ImportRecords::Accounts(refused))) {
            Err(StoreError::ImportRejected(errors)) => {
                let reasons: Vec<(u64, String)> =
                    errors.into_iter().map(|e| (e.line, e.reason)).collect();
                assert_eq!(reasons.len(), 2, "{}: {reasons:?}", backend.name);
                assert!(reasons[0].1.contains("2 users are named"), "{reasons:?}");
                assert!(
                    reasons[1].1.contains("no user named 鈴木 花子"),
                    "{reasons:?}"
                );
            }
            other => panic!("{}: expected a rejection, got {other:?}", backend.name),
        }
        let read = Actor::system().read();
        assert!(
            ok(store.plan_names(&read)).is_empty(),
            "{}: rolled back",
            backend.name
        );
        ok(store.import(&write, batch(ImportRecords::Accounts(rows))));
        let taro = ok(store.list_users(&read))
            .into_iter()
            .find(|u| u.email.as_str() == "taro@team.example")
            .map(|u| u.id);
        let mut seen = Vec::new();
        for external_id in ["J-1", "J-2", "J-3", "J-4", "J-5"] {
            let account = ok(store.all_accounts(&read))
                .into_iter()
                .find(|a| a.external_id.as_ref().map(ExternalId::as_str) == Some(external_id))
                .unwrap_or_else(|| panic!("{}: {external_id} missing", backend.name));
            assert_eq!(account.owner_id, taro, "{}: {external_id}", backend.name);
            seen.push(account.plan.map(String::from).unwrap_or_default());
        }
        // プロ has no ASCII words: plan-1, kept for its second mention; ｐｒｏ is the
        // ASCII word pro; Pro (annual) becomes pro-annual; a translation keeps its slug.
        assert_eq!(
            seen,
            ["plan-1", "pro", "pro-annual", "standard", "plan-1"],
            "{}",
            backend.name
        );
        let names = ok(store.plan_names(&read));
        assert_eq!(names.get("plan-1").map(String::as_str), Some("プロ"));
        assert_eq!(
            names.get("standard").map(String::as_str),
            Some("スタンダード")
        );
        assert_eq!(
            names.get("pro-annual").map(String::as_str),
            Some("Pro (annual)")
        );
    }
}
