//! People and partners managed over the API: a partner user invited by the partner's
//! external id, roles changed, a user deactivated (their token stops working at once), a
//! segment over a custom field and health, and every change in the audit log with who,
//! before and after.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn people_are_invited_by_partner_code_changed_deactivated_and_audited() {
    let app = TestApp::spawn().await;
    let admin_id = app
        .get("admin", "/api/v1/users")
        .await
        .body
        .as_array()
        .and_then(|users| users.iter().find(|u| u["email"] == "admin@team.example"))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_default();
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/users",
            Some(json!({
            "email": "reseller@partner-b.example", "name": "Reseller B", "role": "partner",
            "partner_external_id": "P-B", "password": "a long enough password"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["partner_id"], json!(app.seed.partner_b.get()));
    assert_eq!(created.body["active"], json!(true));
    let id = created.body["id"].as_i64().unwrap_or_default();
    let unknown = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/users",
            Some(json!({
            "email": "x@example.com", "role": "partner", "partner_external_id": "P-NOPE"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert_eq!(unknown.body["error"]["field"], "partner");

    // The new partner user sees partner B's account only.
    let (cookie, _) = app
        .login("reseller@partner-b.example", "a long enough password")
        .await;
    let seen = app
        .send(
            app.client
                .get(format!("{}/api/v1/accounts", app.base))
                .header("cookie", &cookie),
        )
        .await;
    let names: Vec<Value> = seen.body["data"]
        .as_array()
        .map(|d| d.iter().map(|a| a["name"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, [json!("Account b")], "{}", seen.text);

    // A role change logs them out (what they may see changed) and is audited.
    let csm = app
        .call(
            Some("leader"),
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "csm"})),
        )
        .await;
    assert_eq!(csm.status, StatusCode::FORBIDDEN, "only admins");
    let changed = app
        .call(
            Some("admin"),
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "csm"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        (
            changed.body["role"].clone(),
            changed.body["partner_id"].clone()
        ),
        (json!("csm"), json!(null))
    );
    let after_change = app
        .send(
            app.client
                .get(format!("{}/api/v1/accounts", app.base))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(
        after_change.status,
        StatusCode::UNAUTHORIZED,
        "the old session ended"
    );
    let partner_again = app
        .call(
            Some("admin"),
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "partner"})),
        )
        .await;
    assert_eq!(
        partner_again.status,
        StatusCode::BAD_REQUEST,
        "a partner user needs a partner"
    );
    assert_eq!(partner_again.body["error"]["field"], "partner");

    // Deactivated: no login, no token.
    let token = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "theirs", "scope": "read", "user_id": id})),
        )
        .await;
    let secret = token.body["secret"].as_str().unwrap_or_default().to_owned();
    let with_token = || {
        app.client
            .get(format!("{}/api/v1/accounts", app.base))
            .bearer_auth(&secret)
    };
    assert_eq!(app.send(with_token()).await.status, StatusCode::OK);
    let myself = app
        .call(
            Some("admin"),
            Method::POST,
            &format!("/api/v1/users/{admin_id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(
        myself.status,
        StatusCode::BAD_REQUEST,
        "nobody deactivates themselves: {}",
        myself.text
    );
    let off = app
        .call(
            Some("admin"),
            Method::POST,
            &format!("/api/v1/users/{id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(off.body["active"], json!(false));
    assert_eq!(
        app.send(with_token()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = app
        .call(None, Method::POST, "/api/v1/session", Some(json!({"email": "reseller@partner-b.example", "password": "a long enough password"})))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let on = app
        .call(
            Some("admin"),
            Method::POST,
            &format!("/api/v1/users/{id}/activate"),
            None,
        )
        .await;
    assert_eq!(on.body["active"], json!(true));

    // The audit log: newest first, with who, before and after.
    let audit = app.get("admin", "/api/v1/audit?limit=10").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<(String, String)> = audit.body["data"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["object"] == "user" && e["object_key"] == json!(id.to_string()))
                .map(|e| {
                    (
                        e["action"].as_str().unwrap_or("").to_owned(),
                        e["object_key"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let key = id.to_string();
    assert_eq!(
        actions,
        [
            ("activate".to_owned(), key.clone()),
            ("deactivate".to_owned(), key.clone()),
            ("update".to_owned(), key.clone()),
            ("create".to_owned(), key)
        ],
        "{}",
        audit.text
    );
    let update = audit.body["data"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|e| e["object"] == "user" && e["action"] == "update")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(update["before"]["role"], "partner");
    assert_eq!(update["after"]["role"], "csm");
    assert_eq!(update["actor_id"], json!(admin_id));
    assert_eq!(
        app.get("leader", "/api/v1/audit").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_segment_over_a_custom_field_lists_what_the_filter_finds() {
    let app = TestApp::spawn().await;
    let field = app
        .call(
            Some("admin"),
            Method::PUT,
            "/api/v1/custom-fields/industry",
            Some(json!({
            "label": "Industry", "kind": "enum", "options": ["retail", "finance"]})),
        )
        .await;
    assert!(field.status.is_success(), "{}", field.text);
    for (key, industry) in [("a", "retail"), ("b", "finance")] {
        let patched = app
            .call(
                Some("admin"),
                Method::PATCH,
                &format!("/api/v1/accounts/{}", app.account(key)),
                Some(json!({"custom_fields": {"industry": industry}})),
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    }
    let found = app
        .get(
            "admin",
            "/api/v1/accounts?custom_key=industry&custom_value=retail",
        )
        .await;
    let names: Vec<Value> = found.body["data"]
        .as_array()
        .map(|d| d.iter().map(|a| a["name"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, [json!("Account a")], "{}", found.text);
    let segment = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/segments",
            Some(json!({
            "name": "Retail", "filter": {"custom_key": "industry", "custom_value": "retail"}})),
        )
        .await;
    assert_eq!(segment.status, StatusCode::CREATED, "{}", segment.text);
    let id = segment.body["id"].as_i64().unwrap_or_default();
    let members = app
        .get("leader", &format!("/api/v1/segments/{id}/accounts"))
        .await;
    assert_eq!(members.count(), 1, "{}", members.text);
    let audit = app.get("admin", "/api/v1/audit").await;
    let objects: Vec<&str> = audit.body["data"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["object"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        objects.contains(&"segment") && objects.contains(&"custom_field"),
        "{objects:?}"
    );
}

#[tokio::test]
async fn every_change_to_customer_data_is_in_the_audit_trail_with_who_before_and_after() {
    let app = TestApp::spawn().await;
    let account = app.account("a");
    let changed = app
        .call(
            Some("csm"),
            Method::PATCH,
            &format!("/api/v1/accounts/{account}"),
            Some(json!({"mrr": 4321.0, "stage": "renewal"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let task = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"account_id": account, "title": "Renewal call", "due_on": "2030-01-01"})),
        )
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text);
    let users = app.get("admin", "/api/v1/users").await;
    let id_of = |role: &str| {
        users.body["data"]
            .as_array()
            .or(users.body.as_array())
            .and_then(|list| list.iter().find(|u| u["role"] == role))
            .and_then(|u| u["id"].as_i64())
    };
    let trail = app
        .get(
            "admin",
            &format!("/api/v1/audit?object=account&key={account}"),
        )
        .await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text);
    let latest = &trail.body["data"][0];
    assert_eq!(latest["action"], "update", "{}", trail.text);
    assert_eq!(latest["actor_id"].as_i64(), id_of("csm"), "{}", trail.text);
    assert_eq!(latest["actor_email"], "csm@team.example");
    assert_eq!(latest["before"]["mrr"], 100.0);
    assert_eq!(latest["after"]["mrr"], 4321.0);
    assert_eq!(latest["after"]["stage"], "renewal");
    // By person, and as CSV.
    let by_leader = app
        .get(
            "admin",
            &format!("/api/v1/audit?actor={}", id_of("leader").unwrap_or(0)),
        )
        .await;
    assert!(
        by_leader.body["data"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r["actor_email"] == "leader@team.example")),
        "{}",
        by_leader.text
    );
    assert!(by_leader.text.contains("Renewal call"));
    let csv = app
        .get(
            "admin",
            &format!("/api/v1/audit?object=account&key={account}&format=csv"),
        )
        .await;
    assert_eq!(
        csv.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    assert!(
        csv.text
            .starts_with("at,actor,object,object_key,action,before,after\n"),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains(",csm@team.example,account,"),
        "{}",
        csv.text
    );
    // Page by page: the cursor continues below the last entry.
    let first = app.get("admin", "/api/v1/audit?limit=2").await;
    let cursor = first.body["next_cursor"].as_str().unwrap_or("").to_owned();
    let second = app
        .get("admin", &format!("/api/v1/audit?limit=2&cursor={cursor}"))
        .await;
    assert!(
        second.body["data"][0]["id"].as_i64() < first.body["data"][1]["id"].as_i64(),
        "{} / {}",
        first.text,
        second.text
    );
    for role in ["leader", "csm", "viewer", "partner"] {
        assert_eq!(
            app.get(role, "/api/v1/audit").await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let bad = app.get("admin", "/api/v1/audit?actor=someone").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "actor");
}
