//! The Segment-compatible tracking API over HTTP: what it accepts, what it refuses
//! (storing nothing), de-duplication, identity, and reading usage back.

use crate::helpers::{TestApp, ok};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::Write;

async fn write_key(app: &TestApp) -> String {
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/write-keys",
            Some(json!({"name": "web app"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["key"].as_str().unwrap_or("").to_owned()
}

async fn send(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> crate::helpers::Reply {
    let mut request = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.basic_auth(key, Some(""));
    }
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        ok(encoder.write_all(&body));
        request = request
            .header("content-encoding", "gzip")
            .body(ok(encoder.finish()));
    } else {
        request = request.body(body);
    }
    app.send(request).await
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

async fn usage(app: &TestApp, account: &str, event: &str) -> u64 {
    let reply = app
        .get(
            "admin",
            &format!(
                "/api/v1/accounts/{}/usage?event={event}&interval=month",
                app.account(account)
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["count"].as_u64().unwrap_or(0))
        .sum()
}

async fn catalog_volume(app: &TestApp) -> u64 {
    app.get("admin", "/api/v1/events/catalog")
        .await
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["volume"].as_u64().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_batch_is_stored_once_and_read_back_exactly() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let batch = json!({
        "batch": [
            {"type": "track", "messageId": "m1", "userId": "u1", "event": "Report Run", "properties": {"rows": 10}, "timestamp": now()},
            {"type": "track", "messageId": "m2", "userId": "u1", "event": "Report Run", "properties": {"rows": 5}, "timestamp": now()},
            {"type": "page", "messageId": "m3", "anonymousId": "a1", "name": "Home", "timestamp": now()},
        ],
        "context": {"groupId": "EXT-a"},
        "sentAt": now(),
    });
    let body = ok(serde_json::to_vec(&batch));
    for _ in 0..2 {
        let reply = send(&app, "/v1/batch", Some(&key), body.clone(), false).await;
        assert_eq!(
            (reply.status, reply.body.clone()),
            (StatusCode::OK, json!({"success": true, "accepted": 3})),
            "{}",
            reply.text
        );
    }
    assert_eq!(
        usage(&app, "a", "Report Run").await,
        2,
        "the batch sent twice counts once"
    );
    assert_eq!(usage(&app, "a", "Page%20Viewed").await, 1);
    let month = app
        .get(
            "admin",
            &format!(
                "/api/v1/accounts/{}/usage?event=Report%20Run&interval=month",
                app.account("a")
            ),
        )
        .await;
    let sums: f64 = month.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["sums"]["rows"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(sums, 15.0);
    let events = app
        .get(
            "admin",
            &format!("/api/v1/accounts/{}/events?limit=2", app.account("a")),
        )
        .await;
    assert_eq!(events.body["total"], 3);
    assert_eq!(events.count(), 2);
    assert_eq!(events.body["data"][0]["message_id"], "m3", "newest first");
    let rest = app
        .get(
            "admin",
            &format!(
                "/api/v1/accounts/{}/events?limit=2&cursor={}",
                app.account("a"),
                events.body["next_cursor"].as_str().unwrap_or("")
            ),
        )
        .await;
    assert_eq!(rest.count(), 1);
    assert_eq!(
        app.get(
            "partner",
            &format!("/api/v1/accounts/{}/usage", app.account("b"))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // A message twice within one batch, beside one stored before: the new one once.
    let again = json!({
        "batch": [
            {"type": "track", "messageId": "m4", "userId": "u1", "event": "Report Run", "timestamp": now()},
            {"type": "track", "messageId": "m4", "userId": "u1", "event": "Report Run", "timestamp": now()},
            {"type": "track", "messageId": "m1", "userId": "u1", "event": "Report Run", "timestamp": now()},
        ],
        "context": {"groupId": "EXT-a"},
    });
    let reply = send(
        &app,
        "/v1/batch",
        Some(&key),
        ok(serde_json::to_vec(&again)),
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(usage(&app, "a", "Report Run").await, 3, "m4 counts once");
}

#[tokio::test]
async fn every_endpoint_accepts_its_message_type_gzip_and_a_body_write_key() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let messages = [
        (
            "/v1/track",
            json!({"userId": "u2", "event": "Login", "context": {"groupId": "EXT-b"}}),
        ),
        (
            "/v1/identify",
            json!({"userId": "u2", "traits": {"email": "u2@b.example", "name": "Bea", "role": "champion", "title": "Head of Ops"}}),
        ),
        (
            "/v1/group",
            json!({"userId": "u2", "groupId": "EXT-b", "traits": {"name": "Account b renamed", "plan": "enterprise"}}),
        ),
        ("/v1/page", json!({"userId": "u2", "name": "Pricing"})),
        ("/v1/screen", json!({"userId": "u2", "name": "Home"})),
        ("/v1/alias", json!({"userId": "u2", "previousId": "anon-9"})),
    ];
    for (index, (path, message)) in messages.iter().enumerate() {
        let reply = send(
            &app,
            path,
            Some(&key),
            ok(serde_json::to_vec(message)),
            index % 2 == 0,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    let body_key =
        json!({"writeKey": key, "userId": "u2", "event": "Login", "context": {"groupId": "EXT-b"}});
    assert_eq!(
        send(
            &app,
            "/v1/track",
            None,
            ok(serde_json::to_vec(&body_key)),
            false
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(usage(&app, "b", "Login").await, 2);
    // the group call updated the account, the identify call wrote the contact
    let account = app
        .get("admin", &format!("/api/v1/accounts/{}", app.account("b")))
        .await;
    assert_eq!(
        (account.body["name"].as_str(), account.body["plan"].as_str()),
        (Some("Account b renamed"), Some("enterprise"))
    );
    let contacts = app
        .get(
            "admin",
            &format!(
                "/api/v1/contacts?account_id={}&email=u2@b.example",
                app.account("b")
            ),
        )
        .await;
    assert_eq!(
        contacts.body["data"][0]["role"], "champion",
        "{}",
        contacts.text
    );
    assert_eq!(contacts.body["data"][0]["external_id"], "u2");
    assert_eq!(contacts.body["data"][0]["title"], "Head of Ops");
}

#[tokio::test]
async fn events_that_arrive_before_their_account_attach_when_it_appears() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let batch = json!({"batch": [
        {"type": "track", "userId": "n1", "event": "Login", "context": {"groupId": "NEW-1"}},
        {"type": "track", "userId": "n2", "event": "Login"},
        {"type": "group", "userId": "n2", "groupId": "NEW-1"},
    ]});
    assert_eq!(
        send(
            &app,
            "/v1/batch",
            Some(&key),
            ok(serde_json::to_vec(&batch)),
            false
        )
        .await
        .status,
        StatusCode::OK
    );
    let import = app
        .client
        .post(format!("{}/api/v1/import/accounts", app.base))
        .bearer_auth(&app.tokens["admin"])
        .body("external_id,name\nNEW-1,Newcomer\n");
    assert_eq!(app.send(import).await.status, StatusCode::OK);
    let id = app
        .get("admin", "/api/v1/accounts?external_id=NEW-1")
        .await
        .body["data"][0]["id"]
        .as_i64()
        .unwrap_or_default();
    let reply = app
        .get(
            "admin",
            &format!("/api/v1/accounts/{id}/usage?event=Login&interval=month"),
        )
        .await;
    let total: u64 = reply.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 2, "{}", reply.text);
}

/// A bad request: name, path, write key, body, expected status and field.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    StatusCode,
    Option<&'a str>,
);

#[tokio::test]
async fn bad_input_is_refused_with_a_reason_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let big = "x".repeat(33 * 1024);
    let message = |n: usize| json!({"type": "track", "userId": "u", "event": "E", "properties": {"pad": "y".repeat(n)}});
    let oversize_batch = json!({"batch": (0..30).map(|_| message(20_000)).collect::<Vec<Value>>()});
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed json",
            "/v1/batch",
            Some(&key),
            b"{\"batch\": [".to_vec(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "no user",
            "/v1/track",
            Some(&key),
            br#"{"event":"E"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("userId"),
        ),
        (
            "track without event",
            "/v1/track",
            Some(&key),
            br#"{"userId":"u"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("event"),
        ),
        (
            "unknown type",
            "/v1/batch",
            Some(&key),
            br#"{"batch":[{"type":"launch","userId":"u"}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("batch[0].type"),
        ),
        (
            "a batch of only bad messages",
            "/v1/batch",
            Some(&key),
            br#"{"batch":[{"type":"track","event":"E"},{"type":"track","userId":"u"}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("batch[0].userId"),
        ),
        (
            "oversize message",
            "/v1/track",
            Some(&key),
            format!(r#"{{"userId":"u","event":"E","properties":{{"x":"{big}"}}}}"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            Some("message"),
        ),
        (
            "oversize batch",
            "/v1/batch",
            Some(&key),
            ok(serde_json::to_vec(&oversize_batch)),
            StatusCode::BAD_REQUEST,
            Some("batch"),
        ),
        (
            "wrong write key",
            "/v1/track",
            Some("wk_nope"),
            br#"{"userId":"u","event":"E"}"#.to_vec(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "missing write key",
            "/v1/track",
            None,
            br#"{"userId":"u","event":"E"}"#.to_vec(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "too old",
            "/v1/track",
            Some(&key),
            br#"{"userId":"u","event":"E","timestamp":"2001-01-01T00:00:00Z"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("timestamp"),
        ),
    ];
    for (name, path, key, body, status, field) in cases {
        let reply = send(&app, path, key, body, false).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text);
        assert!(
            !reply.body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{name} has a reason"
        );
        assert_eq!(
            reply.body["error"]["field"].as_str(),
            field,
            "{name}: {}",
            reply.text
        );
    }
    assert_eq!(catalog_volume(&app).await, 0, "nothing was stored");
    let revoked = app.get("admin", "/api/v1/write-keys").await;
    assert_eq!(revoked.body[0]["name"], "web app");
    assert!(!revoked.text.contains(&key), "keys are never listed");
}

#[tokio::test]
async fn a_partner_sees_the_event_catalogue_of_its_own_accounts_only() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    for (account, event) in [("EXT-a", "Report Run"), ("EXT-b", "Secret Feature Used")] {
        let batch = json!({
            "batch": [{"type": "track", "messageId": format!("m-{account}"), "userId": "u1", "event": event, "timestamp": now()}],
            "context": {"groupId": account},
        });
        let reply = send(
            &app,
            "/v1/batch",
            Some(&key),
            ok(serde_json::to_vec(&batch)),
            false,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    assert_eq!(usage(&app, "b", "Secret%20Feature%20Used").await, 1);
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect()
    };
    let everyone = app.get("admin", "/api/v1/events/catalog").await;
    assert!(names(&everyone).contains(&"Secret Feature Used".to_owned()));
    let partner = app.get("partner", "/api/v1/events/catalog").await;
    assert_eq!(partner.status, StatusCode::OK, "{}", partner.text);
    assert_eq!(names(&partner), ["Report Run"], "{}", partner.text);
    assert_eq!(partner.body[0]["volume"].as_u64(), Some(1));
}

#[tokio::test]
async fn identify_traits_in_the_context_as_rudderstack_sends_them_name_the_contact() {
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let batch = json!({"batch": [
        {"type": "group", "messageId": "r1", "userId": "rs-1", "groupId": "EXT-a", "timestamp": now()},
        {"type": "identify", "messageId": "r2", "userId": "rs-1", "timestamp": now(),
         "context": {"traits": {"name": "Rudder Person", "email": "rudder@customer.example"}}},
    ]});
    let reply = send(
        &app,
        "/v1/batch",
        Some(&key),
        ok(serde_json::to_vec(&batch)),
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let path = format!("/api/v1/contacts?account_id={}", app.account("a"));
    let mut found = serde_json::Value::Null;
    for _ in 0..100 {
        let contacts = app.get("admin", &path).await;
        if let Some(contact) = contacts.body["data"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["external_id"] == "rs-1"))
        {
            found = contact.clone();
            if found["name"] == "Rudder Person" {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found["name"], "Rudder Person", "{found}");
    assert_eq!(found["email"], "rudder@customer.example", "{found}");
    assert_eq!(found["source"], "product", "{found}");
}

#[tokio::test]
async fn a_batch_keeps_its_valid_messages_and_names_the_bad_and_too_old_ones() {
    // Mobile SDKs flush queues late: one message past the window must not take the others
    // with it (the SDK drops a refused batch whole).
    let app = TestApp::spawn().await;
    let key = write_key(&app).await;
    let batch = json!({"batch": [
        {"type": "track", "messageId": "ok-1", "userId": "u1", "event": "Report Run", "timestamp": now(),
         "context": {"groupId": "EXT-a"}},
        {"type": "track", "messageId": "bad-1", "event": "Report Run"},
        {"type": "track", "messageId": "old-1", "userId": "u1", "event": "Report Run",
         "timestamp": "2001-01-01T00:00:00Z", "context": {"groupId": "EXT-a"}},
    ]});
    let reply = send(
        &app,
        "/v1/batch",
        Some(&key),
        ok(serde_json::to_vec(&batch)),
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["success"], true);
    assert_eq!(reply.body["accepted"], 1, "{}", reply.text);
    let refused: Vec<&str> = reply.body["refused"]
        .as_array()
        .map(|r| r.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        refused,
        ["batch[1].userId", "batch[2].timestamp"],
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("mikawaya import events"),
        "the old one says where history goes"
    );
    assert_eq!(catalog_volume(&app).await, 1, "the valid message is stored");
    // Sending the same batch again stores nothing twice.
    let again = send(
        &app,
        "/v1/batch",
        Some(&key),
        ok(serde_json::to_vec(&batch)),
        false,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(catalog_volume(&app).await, 1);
    let metrics = app.get("admin", "/metrics").await;
    assert!(
        metrics.text.contains("mikawaya_events_refused_total 4"),
        "{}",
        metrics.text
    );
}
