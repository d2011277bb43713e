//! The role × entity × action matrix: each role, on a fresh server, tries every action on
//! every entity of its own partner's account, another partner's account and a direct
//! account, and must get exactly the status the access rules give.

use crate::helpers::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const ENTITIES: [&str; 4] = ["accounts", "contacts", "subscriptions", "touchpoints"];
const KEYS: [&str; 3] = ["a", "b", "direct"];

fn sees(role: &str, key: &str) -> bool {
    role != "partner" || key == "a"
}

fn writes(role: &str) -> bool {
    role != "viewer"
}

fn entity_id(app: &TestApp, entity: &str, key: &'static str) -> i64 {
    match entity {
        "accounts" => app.account(key),
        other => app.seed.children[&(other_static(other), key)],
    }
}

fn other_static(entity: &str) -> &'static str {
    match entity {
        "contacts" => "contacts",
        "subscriptions" => "subscriptions",
        _ => "touchpoints",
    }
}

fn create_body(entity: &str, account_id: i64) -> serde_json::Value {
    match entity {
        "accounts" => json!({"name": "Created in test"}),
        "contacts" => json!({"account_id": account_id, "name": "New Person", "role": "champion"}),
        "subscriptions" => {
            json!({"account_id": account_id, "plan": "pro", "mrr": 10, "start_date": "2025-03-01"})
        }
        _ => {
            json!({"account_id": account_id, "kind": "meeting", "occurred_at": "2025-03-01T09:00:00Z"})
        }
    }
}

fn update_body(entity: &str) -> Option<serde_json::Value> {
    match entity {
        "accounts" => Some(json!({"stage": "adoption"})),
        "contacts" => Some(json!({"sentiment": "positive"})),
        "subscriptions" => Some(json!({"quantity": 3})),
        _ => None,
    }
}

async fn check_role(role: &'static str) {
    let app = TestApp::spawn().await;
    let failures = std::cell::RefCell::new(Vec::new());
    let expect = |what: String, got: StatusCode, expected: StatusCode| {
        if got != expected {
            failures
                .borrow_mut()
                .push(format!("{role} {what}: got {got}, expected {expected}"));
        }
    };
    for entity in ENTITIES {
        // list
        let listed = app.get(role, &format!("/api/v1/{entity}?limit=100")).await;
        let mut ids: Vec<i64> = listed.body["data"]
            .as_array()
            .map(|rows| rows.iter().filter_map(|r| r["id"].as_i64()).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        let mut expected: Vec<i64> = KEYS
            .iter()
            .filter(|key| sees(role, key))
            .map(|key| entity_id(&app, entity, key))
            .collect();
        expected.sort_unstable();
        if ids != expected {
            failures.borrow_mut().push(format!(
                "{role} list {entity}: got ids {ids:?}, expected {expected:?}"
            ));
        }
        for key in KEYS {
            let id = entity_id(&app, entity, key);
            let visible = sees(role, key);
            let got = app
                .get(role, &format!("/api/v1/{entity}/{id}"))
                .await
                .status;
            expect(
                format!("get {entity} of {key}"),
                got,
                if visible {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                },
            );
            if let Some(body) = update_body(entity) {
                let got = app
                    .call(
                        Some(role),
                        Method::PATCH,
                        &format!("/api/v1/{entity}/{id}"),
                        Some(body),
                    )
                    .await
                    .status;
                let wanted = match (writes(role), visible) {
                    (false, _) => StatusCode::FORBIDDEN,
                    (true, false) => StatusCode::NOT_FOUND,
                    (true, true) => StatusCode::OK,
                };
                expect(format!("update {entity} of {key}"), got, wanted);
            }
            if entity != "accounts" {
                let body = create_body(entity, app.account(key));
                let got = app
                    .call(
                        Some(role),
                        Method::POST,
                        &format!("/api/v1/{entity}"),
                        Some(body),
                    )
                    .await
                    .status;
                let wanted = match (writes(role), visible) {
                    (false, _) => StatusCode::FORBIDDEN,
                    (true, false) => StatusCode::BAD_REQUEST,
                    (true, true) => StatusCode::CREATED,
                };
                expect(format!("create {entity} on {key}"), got, wanted);
            }
        }
        if entity == "accounts" {
            let created = app
                .call(
                    Some(role),
                    Method::POST,
                    "/api/v1/accounts",
                    Some(create_body(entity, 0)),
                )
                .await;
            expect(
                "create account".into(),
                created.status,
                if writes(role) {
                    StatusCode::CREATED
                } else {
                    StatusCode::FORBIDDEN
                },
            );
            if role == "partner" {
                assert_eq!(
                    created.body["partner_id"].as_i64(),
                    Some(app.seed.partner_a.get()),
                    "a partner's new account is theirs"
                );
                let other = json!({"name": "Sneaky", "partner_id": app.seed.partner_b.get()});
                let got = app
                    .call(Some(role), Method::POST, "/api/v1/accounts", Some(other))
                    .await
                    .status;
                expect(
                    "create account for another partner".into(),
                    got,
                    StatusCode::FORBIDDEN,
                );
                let moved = json!({"partner_id": app.seed.partner_b.get()});
                let got = app
                    .call(
                        Some(role),
                        Method::PATCH,
                        &format!("/api/v1/accounts/{}", app.account("a")),
                        Some(moved),
                    )
                    .await
                    .status;
                expect(
                    "move own account to another partner".into(),
                    got,
                    StatusCode::FORBIDDEN,
                );
            }
        }
    }
    // search never finds what the role cannot see
    let found = app.get(role, "/api/v1/accounts?q=Account%20b").await;
    assert_eq!(found.count(), usize::from(sees(role, "b")), "{role} search");
    // delete last: children first, then the accounts
    for entity in ["contacts", "subscriptions", "touchpoints", "accounts"] {
        for key in ["b", "a"] {
            let id = entity_id(&app, entity, key);
            let got = app
                .call(
                    Some(role),
                    Method::DELETE,
                    &format!("/api/v1/{entity}/{id}"),
                    None,
                )
                .await
                .status;
            let wanted = match (writes(role), sees(role, key)) {
                (false, _) => StatusCode::FORBIDDEN,
                (true, false) => StatusCode::NOT_FOUND,
                (true, true) => StatusCode::NO_CONTENT,
            };
            expect(format!("delete {entity} of {key}"), got, wanted);
        }
    }
    // the other partner's account is still whole after everything a partner tried
    if role == "partner" {
        let admin_view = app
            .get("admin", &format!("/api/v1/accounts/{}", app.account("b")))
            .await;
        assert_eq!(admin_view.status, StatusCode::OK);
        assert_eq!(admin_view.body["stage"], serde_json::Value::Null);
    }
    let failures = failures.into_inner();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn admins_may_do_everything() {
    check_role("admin").await;
}

#[tokio::test]
async fn leaders_may_change_all_customer_data() {
    check_role("leader").await;
}

#[tokio::test]
async fn csms_may_change_all_customer_data() {
    check_role("csm").await;
}

#[tokio::test]
async fn viewers_read_everything_and_change_nothing() {
    check_role("viewer").await;
}

#[tokio::test]
async fn partner_users_see_and_change_only_their_partners_accounts() {
    check_role("partner").await;
}

#[tokio::test]
async fn configuration_belongs_to_admins_and_leaders() {
    let app = TestApp::spawn().await;
    let table = [
        (
            "admin",
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED,
        ),
        (
            "leader",
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::FORBIDDEN,
        ),
        (
            "csm",
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            "partner",
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            "viewer",
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            "service-write",
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (role, segment, partner, user) in table {
        let got = app
            .call(
                Some(role),
                Method::POST,
                "/api/v1/segments",
                Some(json!({"name": format!("seg {role}")})),
            )
            .await
            .status;
        assert_eq!(got, segment, "{role} creates a segment");
        let got = app
            .call(
                Some(role),
                Method::POST,
                "/api/v1/partners",
                Some(json!({"name": format!("ptn {role}")})),
            )
            .await
            .status;
        assert_eq!(got, partner, "{role} creates a partner");
        let body = json!({"email": format!("new-{role}@team.example"), "role": "csm"});
        let got = app
            .call(Some(role), Method::POST, "/api/v1/users", Some(body))
            .await
            .status;
        assert_eq!(got, user, "{role} creates a user");
    }
}

#[tokio::test]
async fn a_segment_evaluated_by_a_partner_holds_only_their_accounts() {
    let app = TestApp::spawn().await;
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/segments",
            Some(json!({"name": "all", "filter": {"mrr_min": 50}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap_or_default();
    assert_eq!(
        app.get("admin", &format!("/api/v1/segments/{id}/accounts"))
            .await
            .count(),
        3
    );
    let partner_view = app
        .get("partner", &format!("/api/v1/segments/{id}/accounts"))
        .await;
    assert_eq!(partner_view.count(), 1);
    assert_eq!(
        partner_view.body["data"][0]["id"].as_i64(),
        Some(app.account("a"))
    );
    // the segment is evaluated when used, never stale
    let changed = app
        .call(
            Some("admin"),
            Method::PATCH,
            &format!("/api/v1/accounts/{}", app.account("direct")),
            Some(json!({"mrr": 10})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(
        app.get("admin", &format!("/api/v1/segments/{id}/accounts"))
            .await
            .count(),
        2
    );
}

/// Imports a CSV as a role; returns the reply.
async fn import_as(app: &TestApp, role: &str, kind: &str, csv: &'static str) -> Reply {
    let request = app
        .client
        .post(format!("{}/api/v1/import/{kind}", app.base))
        .bearer_auth(&app.tokens[role])
        .body(csv);
    app.send(request).await
}

#[tokio::test]
async fn a_partner_import_cannot_touch_another_partners_account() {
    let app = TestApp::spawn().await;
    // EXT-b belongs to partner B: partner A's row is its own account, in its namespace.
    let csv = "external_id,name,mrr\nEXT-new,Fresh Co,10\nEXT-b,Taken Over,999\n";
    let reply = import_as(&app, "partner", "accounts", csv).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["created"], 2, "{}", reply.text);
    let b = app
        .get("admin", &format!("/api/v1/accounts/{}", app.account("b")))
        .await;
    assert_eq!(b.body["name"], "Account b");
    assert_eq!(b.body["mrr"], 200.0);
    let a = app.seed.partner_a.get();
    let mine = app
        .get("partner", "/api/v1/accounts?external_id=EXT-b")
        .await;
    assert_eq!(mine.count(), 1, "{}", mine.text);
    assert_eq!(mine.body["data"][0]["name"], "Taken Over");
    assert_eq!(mine.body["data"][0]["external_id"], "EXT-b");
    let stored = app
        .get(
            "admin",
            &format!("/api/v1/accounts?external_id=partner-{a}:EXT-b"),
        )
        .await;
    assert_eq!(stored.count(), 1, "{}", stored.text);
    assert_eq!(stored.body["data"][0]["partner_id"].as_i64(), Some(a));
    let created = app
        .get("admin", "/api/v1/accounts?external_id=EXT-new")
        .await;
    assert_eq!(created.body["data"][0]["partner_id"].as_i64(), Some(a));
    // The same file again updates the partner's own rows and nothing else.
    let again = import_as(&app, "partner", "accounts", csv).await;
    assert_eq!(again.body["created"], 0, "{}", again.text);
    assert_eq!(again.body["updated"], 2, "{}", again.text);
    assert_eq!(app.get("admin", "/api/v1/accounts").await.count(), 5);
}

/// The review's existence oracles: a partner writing an external id that an account,
/// contact or subscription it cannot see holds got "already used" (409) or "used by an
/// account you cannot change". Now every write path answers as for a free id, the row
/// goes to the partner's namespace, and the hidden rows are untouched.
#[tokio::test]
async fn external_ids_held_out_of_a_partners_sight_are_no_oracle() {
    let app = TestApp::spawn().await;
    let a = app.seed.partner_a.get();
    let (account_a, account_b) = (app.account("a"), app.account("b"));
    let (contact_b, subscription_b) = (
        app.seed.children[&("contacts", "b")],
        app.seed.children[&("subscriptions", "b")],
    );
    for (path, body) in [
        (
            format!("/api/v1/contacts/{contact_b}"),
            json!({"external_id": "C-b"}),
        ),
        (
            format!("/api/v1/subscriptions/{subscription_b}"),
            json!({"external_id": "S-b"}),
        ),
    ] {
        let reply = app
            .call(Some("admin"), Method::PATCH, &path, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    // create and patch an account
    let taken = json!({"external_id": "EXT-b", "name": "Mine"});
    let created = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/accounts",
            Some(taken.clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["external_id"], "EXT-b");
    let own = created.body["id"].as_i64().unwrap_or_default();
    let twice = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/accounts",
            Some(taken),
        )
        .await;
    assert_eq!(
        twice.status,
        StatusCode::CONFLICT,
        "its own id, which it sees: {}",
        twice.text
    );
    let patched = app
        .call(
            Some("partner"),
            Method::PATCH,
            &format!("/api/v1/accounts/{account_a}"),
            Some(json!({"external_id": "EXT-direct"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["external_id"], "EXT-direct");
    let seen = app.get("partner", &format!("/api/v1/accounts/{own}")).await;
    assert_eq!(seen.body["external_id"], "EXT-b");
    let stored = app.get("admin", &format!("/api/v1/accounts/{own}")).await;
    assert_eq!(stored.body["external_id"], format!("partner-{a}:EXT-b"));

    // create and patch a contact and a subscription
    let contact = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"account_id": account_a, "name": "Kana", "external_id": "C-b"})),
        )
        .await;
    assert_eq!(contact.status, StatusCode::CREATED, "{}", contact.text);
    assert_eq!(contact.body["external_id"], "C-b");
    let subscription = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"account_id": account_a, "plan": "pro", "mrr": 10, "start_date": "2026-01-01"})),
        )
        .await;
    assert_eq!(
        subscription.status,
        StatusCode::CREATED,
        "{}",
        subscription.text
    );
    let subscription_id = subscription.body["id"].as_i64().unwrap_or_default();
    let patched = app
        .call(
            Some("partner"),
            Method::PATCH,
            &format!("/api/v1/subscriptions/{subscription_id}"),
            Some(json!({"external_id": "S-b"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["external_id"], "S-b");
    let contacts = app.get("partner", "/api/v1/contacts").await;
    assert!(
        contacts.text.contains("\"C-b\"") && !contacts.text.contains("partner-"),
        "{}",
        contacts.text
    );

    // imports of contacts and subscriptions by the ids it sees
    let reply = import_as(
        &app,
        "partner",
        "contacts",
        "external_id,account_external_id,name\nC-b,EXT-b,Kana Sato\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["updated"], 1, "{}", reply.text);
    let reply = import_as(
        &app,
        "partner",
        "subscriptions",
        "external_id,account_external_id,plan,quantity,mrr,start_date\nS-b,EXT-b,pro,2,20,2026-01-01\n",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["updated"], 1, "{}", reply.text);
    let moved = app
        .get(
            "partner",
            &format!("/api/v1/subscriptions/{subscription_id}"),
        )
        .await;
    assert_eq!(
        moved.body["account_id"].as_i64(),
        Some(own),
        "{}",
        moved.text
    );
    assert_eq!(moved.body["mrr"], 20.0);

    // partner B's rows are as they were
    let b = app
        .get("admin", &format!("/api/v1/accounts/{account_b}"))
        .await;
    assert_eq!(
        (b.body["name"].clone(), b.body["external_id"].clone()),
        (json!("Account b"), json!("EXT-b"))
    );
    let hidden = app
        .get("admin", &format!("/api/v1/contacts/{contact_b}"))
        .await;
    assert_eq!(hidden.body["name"], "Contact b");
    assert_eq!(hidden.body["external_id"], "C-b");
    let hidden = app
        .get("admin", &format!("/api/v1/subscriptions/{subscription_b}"))
        .await;
    assert_eq!(hidden.body["external_id"], "S-b");
    assert_eq!(hidden.body["account_id"].as_i64(), Some(account_b));
}

#[tokio::test]
async fn a_partner_cannot_name_a_user_it_cannot_see_as_task_owner_or_touchpoint_user() {
    let app = TestApp::spawn().await;
    let users = app.get("admin", "/api/v1/users").await;
    let id_of = |role: &str| {
        users.body["data"]
            .as_array()
            .or(users.body.as_array())
            .and_then(|list| list.iter().find(|u| u["role"] == role))
            .and_then(|u| u["id"].as_i64())
            .unwrap_or_else(|| panic!("no {role} in {}", users.text))
    };
    let (csm, own) = (id_of("csm"), id_of("partner"));
    let task = |owner: i64| json!({"account_id": app.account("a"), "title": "call", "due_on": "2030-01-01", "owner_id": owner});
    let touchpoint = |user: i64| {
        json!({"account_id": app.account("a"), "kind": "call", "occurred_at": "2026-01-05T10:00:00Z",
               "summary": "call", "user_id": user})
    };
    for (path, body_of, field) in [
        (
            "/api/v1/tasks",
            &task as &dyn Fn(i64) -> serde_json::Value,
            "owner_id",
        ),
        ("/api/v1/touchpoints", &touchpoint, "user_id"),
    ] {
        // The team's CSM and an id nobody has read alike: no existence oracle.
        let hidden = app
            .call(Some("partner"), Method::POST, path, Some(body_of(csm)))
            .await;
        let missing = app
            .call(Some("partner"), Method::POST, path, Some(body_of(999_999)))
            .await;
        assert_eq!(
            hidden.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            hidden.text
        );
        assert_eq!(missing.status, hidden.status, "{path}: {}", missing.text);
        assert_eq!(
            hidden.body["error"]["field"], field,
            "{path}: {}",
            hidden.text
        );
        assert_eq!(
            hidden.body["error"]["message"]
                .as_str()
                .map(|m| m.replace(&csm.to_string(), "N")),
            missing.body["error"]["message"]
                .as_str()
                .map(|m| m.replace("999999", "N")),
            "{path}"
        );
        let fine = app
            .call(Some("partner"), Method::POST, path, Some(body_of(own)))
            .await;
        assert_eq!(fine.status, StatusCode::CREATED, "{path}: {}", fine.text);
        // The team may still name anyone.
        let team = app
            .call(Some("admin"), Method::POST, path, Some(body_of(csm)))
            .await;
        assert!(team.status.is_success(), "{path}: {}", team.text);
    }
}

#[tokio::test]
async fn a_partners_request_without_its_own_items_is_refused_not_made_and_lost() {
    let app = TestApp::spawn().await;
    let before = app.get("admin", "/api/v1/requests").await.text;
    // Found by Schemathesis: the request was made, then the partner got 404 for it.
    let reply = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/requests",
            Some(json!({"title": "Export to Excel"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "items");
    assert_eq!(app.get("admin", "/api/v1/requests").await.text, before);
    // The team may still make one from nothing.
    let team = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/requests",
            Some(json!({"title": "Export to Excel"})),
        )
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text);
}
