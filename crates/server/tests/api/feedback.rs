//! Feedback and feature requests over HTTP: items recorded and merged, a partner seeing only
//! its own accounts' count and ARR on a merged request, bad input named with nothing stored,
//! and the product tracker's webhook: a bad signature refused, a signed "closed" shipping
//! the request and telling each requester once, a replay changing nothing.

use crate::helpers::{TestApp, ok};
use mikawaya_domain::Actor;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn items_merge_into_a_request_partners_see_their_share_and_the_webhook_closes_the_loop() {
    let app = TestApp::spawn().await;
    let contact_a = app.seed.children[&("contacts", "a")];
    let add = |account: &str, contact: Option<i64>, text: &str| json!({"account_id": app.account(account), "contact_id": contact, "text": text});
    // Bad input: named, nothing stored.
    for (body, field) in [
        (json!({"account_id": app.account("a"), "text": ""}), "text"),
        (json!({"account_id": 999_999, "text": "x"}), "account_id"),
        (
            json!({"account_id": app.account("a"), "contact_id": app.seed.children[&("contacts", "b")], "text": "x"}),
            "contact_id",
        ),
        (
            json!({"account_id": app.account("a"), "text": "x", "source": "survey"}),
            "source",
        ),
        (
            json!({"account_id": app.account("a"), "text": "x", "colour": "red"}),
            "colour",
        ),
    ] {
        let reply = app
            .call(Some("csm"), Method::POST, "/api/v1/feedback", Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    assert_eq!(app.get("leader", "/api/v1/feedback").await.body, json!([]));
    let viewer = app
        .call(
            Some("viewer"),
            Method::POST,
            "/api/v1/feedback",
            Some(add("a", None, "x")),
        )
        .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);

    let first = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/feedback",
            Some(add(
                "a",
                Some(contact_a),
                "Please let us export reports to CSV.",
            )),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/feedback",
            Some(add(
                "b",
                None,
                "We need a CSV export for the reports page, it is too slow to copy by hand",
            )),
        )
        .await;
    assert_eq!(second.body["experience"], "friction", "{}", second.text);
    let request = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/requests",
            Some(json!({"title": "CSV export of reports", "items": [first.body["id"]]})),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{}", request.text);
    let id = request.body["id"].as_i64().unwrap_or_default();
    let merged = app
        .call(
            Some("csm"),
            Method::PATCH,
            &format!("/api/v1/feedback/{}", second.body["id"]),
            Some(json!({"request_id": id, "experience": "delight"})),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(
        (
            merged.body["request_id"].as_i64(),
            merged.body["experience"].as_str()
        ),
        (Some(id), Some("delight"))
    );

    // Everyone else sees both accounts; partner A sees only its own account and ARR.
    let all = app.get("leader", &format!("/api/v1/requests/{id}")).await;
    assert_eq!(all.body["request"]["accounts"], 2, "{}", all.text);
    let partner = app.get("partner", &format!("/api/v1/requests/{id}")).await;
    assert_eq!(partner.status, StatusCode::OK, "{}", partner.text);
    assert_eq!(partner.body["request"]["accounts"], 1);
    assert_eq!(
        partner.body["request"]["requesters"][0]["account_id"],
        app.account("a")
    );
    assert_eq!(partner.body["items"].as_array().map(Vec::len), Some(1));
    let csv = app.get("partner", "/api/v1/requests?format=csv").await;
    assert!(csv.text.starts_with("id,title,status"), "{}", csv.text);
    assert_eq!(csv.text.lines().count(), 2);

    // Only managers set a status or a link; a bad link is named.
    let csm = app
        .call(
            Some("csm"),
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            Some(json!({"status": "planned"})),
        )
        .await;
    assert_eq!(csm.status, StatusCode::FORBIDDEN);
    let bad = app
        .call(
            Some("leader"),
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            Some(json!({"issue_url": "not a url"})),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "issue_url", "{}", bad.text);
    let url = "https://github.com/example/product/issues/7";
    let linked = app
        .call(
            Some("leader"),
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            Some(json!({"issue_url": url, "status": "in_progress"})),
        )
        .await;
    assert_eq!(
        linked.body["request"]["status"], "in_progress",
        "{}",
        linked.text
    );

    // The webhook: forged, then signed, then replayed.
    let secret = ok(app
        .with_store(|store| mikawaya_app::feedback::webhook_secret(store))
        .await);
    let body = json!({"action": "closed", "issue": {"html_url": url, "state": "closed", "state_reason": "completed"}}).to_string();
    let hook = |signature: String, delivery: &str| {
        app.client
            .post(format!("{}/api/v1/hooks/product", app.base))
            .header("x-hub-signature-256", signature)
            .header("x-github-delivery", delivery)
            .header("content-type", "application/json")
            .body(body.clone())
    };
    let forged = app
        .send(hook(
            mikawaya_outbox::hub_signature("guess", body.as_bytes()),
            "one",
        ))
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let signed = app
        .send(hook(
            mikawaya_outbox::hub_signature(&secret, body.as_bytes()),
            "one",
        ))
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    assert_eq!(
        signed.body["requests"][0]["loop_closed"], true,
        "{}",
        signed.text
    );
    let replay = app
        .send(hook(
            mikawaya_outbox::hub_signature(&secret, body.as_bytes()),
            "one",
        ))
        .await;
    assert_eq!(replay.body["outcome"], "replayed");
    let shipped = app.get("leader", &format!("/api/v1/requests/{id}")).await;
    assert_eq!(shipped.body["request"]["status"], "shipped");
    // One email to the one requester with an address, whatever the replays.
    let messages = ok(app
        .with_store(|store| store.list_messages(&ok(Actor::system().admin()), None))
        .await);
    let told: Vec<&str> = messages
        .iter()
        .filter(|m| m.idempotency_key.starts_with("request/"))
        .map(|m| m.recipient.as_str())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
}
