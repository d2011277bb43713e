//! The customer journey over HTTP: the definition read by all and saved by managers (bad
//! input named, nothing stored), moves by hand recorded with who and the day, the
//! funnel's numbers, and partners kept to their own accounts.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_journey_is_saved_by_managers_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let standard = app.get("csm", "/api/v1/journey").await;
    assert_eq!(standard.status, StatusCode::OK, "{}", standard.text);
    assert_eq!(standard.body["version"], 0);
    assert_eq!(standard.body["journey"]["stages"][0]["key"], "onboarding");

    let mut journey = standard.body["journey"].clone();
    journey["stages"][0]["target_days"] = json!(30);
    // A CSM cannot save it.
    let refused = app
        .call(
            Some("csm"),
            Method::PUT,
            "/api/v1/journey",
            Some(journey.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // Bad input: each named.
    let mut unknown_metric = journey.clone();
    unknown_metric["stages"][2]["rule"]["metric"] = json!("no_such_metric");
    let mut twice = journey.clone();
    twice["stages"][1]["key"] = json!("onboarding");
    let mut churned = journey.clone();
    churned["stages"][5]["key"] = json!("churned");
    let mut empty_rule = journey.clone();
    empty_rule["stages"][1]["rule"] = json!({});
    for (bad, field) in [
        (unknown_metric, "stages[2].rule.metric"),
        (twice, "stages[1].key"),
        (churned, "stages[5].key"),
        (empty_rule, "stages[1].rule"),
        (json!({"stages": []}), "stages"),
    ] {
        let reply = app
            .call(Some("leader"), Method::PUT, "/api/v1/journey", Some(bad))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    assert_eq!(app.get("csm", "/api/v1/journey").await.body["version"], 0);
    let saved = app
        .call(
            Some("leader"),
            Method::PUT,
            "/api/v1/journey",
            Some(journey),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(saved.body["version"], 1);
    assert_eq!(saved.body["journey"]["stages"][0]["target_days"], 30);
}

#[tokio::test]
async fn moves_by_hand_are_recorded_and_partners_see_their_own() {
    let app = TestApp::spawn().await;
    let direct = app.account("direct");
    let path = format!("/api/v1/accounts/{direct}/stages");
    let today = jiff::Zoned::now().date();
    let week_ago = today
        .checked_sub(jiff::Span::new().days(7))
        .map(|d| d.to_string())
        .unwrap_or_default();
    let tomorrow = today.tomorrow().map(|d| d.to_string()).unwrap_or_default();
    for (bad, field) in [
        (json!({"stage": "nope"}), "stage"),
        (json!({"stage": "adoption", "day": tomorrow}), "day"),
        (json!({"stage": "adoption", "day": "2026-13-01"}), "day"),
        (json!({}), "stage"),
    ] {
        let reply = app.call(Some("csm"), Method::POST, &path, Some(bad)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    assert_eq!(app.get("csm", &path).await.body, json!([]));
    let moved = app
        .call(
            Some("csm"),
            Method::POST,
            &path,
            Some(json!({"stage": "onboarding", "day": week_ago})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let moved = app
        .call(
            Some("csm"),
            Method::POST,
            &path,
            Some(json!({"stage": "adoption"})),
        )
        .await;
    let entries = moved.body.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", moved.text);
    assert_eq!(entries[0]["entered_on"], week_ago);
    assert_eq!(entries[1]["stage"], "adoption");
    assert_eq!(entries[1]["source"], "hand");
    assert!(
        entries[1]["actor_id"].as_i64().is_some(),
        "who: {}",
        moved.text
    );
    let account = app.get("csm", &format!("/api/v1/accounts/{direct}")).await;
    assert_eq!(account.body["stage"], "adoption");

    // The funnel counts it: one account in adoption, entered onboarding in the period and
    // converted within the window (7 days).
    let report = app.get("leader", "/api/v1/journey/report?days=30").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    let stages = report.body["stages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(stages[1]["key"], "adoption");
    assert_eq!(stages[1]["accounts"], 1);
    assert_eq!(stages[0]["entered"], 1);
    assert_eq!(stages[0]["converted"], 1);
    assert_eq!(stages[0]["time"]["median_days"], 7.0);
    let bad = app.get("leader", "/api/v1/journey/report?days=0").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    // A partner reaches its own account's history, not another's (not found, as if it did
    // not exist), and its funnel counts only its own accounts.
    let own = app.account("a");
    let theirs = app.account("b");
    let mine = app
        .call(
            Some("partner"),
            Method::POST,
            &format!("/api/v1/accounts/{own}/stages"),
            Some(json!({"stage": "value"})),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    for (method, body) in [
        (Method::GET, None),
        (Method::POST, Some(json!({"stage": "value"}))),
    ] {
        let reply = app
            .call(
                Some("partner"),
                method,
                &format!("/api/v1/accounts/{theirs}/stages"),
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    }
    let funnel = app.get("partner", "/api/v1/journey/report").await;
    let total: i64 = funnel.body["stages"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["accounts"].as_i64()).sum())
        .unwrap_or_default();
    assert_eq!(total, 1, "{}", funnel.text);
}
