//! Success plans over HTTP: made from a template, changed with the version they were made
//! on (a stale one is 409), bad input named and nothing stored, partners kept to their own
//! accounts, and the customer's page reached only by a valid link, showing nothing
//! internal.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn change(
    app: &TestApp,
    role: &str,
    plan: i64,
    version: i64,
    change: Value,
) -> crate::helpers::Reply {
    app.call(
        Some(role),
        Method::POST,
        &format!("/api/v1/plans/{plan}/changes"),
        Some(json!({"version": version, "change": change})),
    )
    .await
}

#[tokio::test]
async fn a_plan_is_made_changed_and_refuses_bad_or_stale_changes() {
    let app = TestApp::spawn().await;
    let account = app.account("direct");
    let made = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/plans",
            Some(json!({"account_id": account, "template": "onboarding", "language": "ja"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let plan = made.body["id"].as_i64().unwrap_or_default();
    assert_eq!(made.body["title"], "導入から初回の価値実現まで");
    assert_eq!(
        made.body["body"]["milestones"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(made.body["version"], 1);

    // Bad input: the field named, nothing stored.
    let today = jiff::Zoned::now().date();
    let future = today
        .checked_add(jiff::Span::new().days(60))
        .map(|d| d.to_string())
        .unwrap_or_default();
    for (bad, field) in [
        (
            json!({"kind": "add_objective", "title": "x", "metric": "no_such_metric", "target": 5, "due": future}),
            "metric",
        ),
        (
            json!({"kind": "add_objective", "title": "x", "metric": "active_users", "target": 5, "due": "2020-01-01"}),
            "due",
        ),
        (
            json!({"kind": "add_milestone", "title": "x", "due_on": future, "gate": [99]}),
            "gate",
        ),
        (json!({"kind": "close_milestone", "item": 1}), "milestone"),
        (json!({"kind": "launch_rocket"}), "kind"),
        (json!({"kind": "comment"}), "text"),
    ] {
        let refused = change(&app, "csm", plan, 1, bad.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            refused.text
        );
        assert_eq!(
            refused.body["error"]["field"], field,
            "{bad}: {}",
            refused.text
        );
    }
    let unchanged = app.get("csm", &format!("/api/v1/plans/{plan}")).await;
    assert_eq!(unchanged.body["plan"]["version"], 1);

    let added = change(
        &app,
        "csm",
        plan,
        1,
        json!({"kind": "add_objective", "title": "レポートを毎週作る", "metric": "activity", "target": 15, "relative": true, "due": future}),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(added.body["version"], 2);
    // Someone else still on version 1 is told to reload.
    let stale = change(
        &app,
        "leader",
        plan,
        1,
        json!({"kind": "comment", "text": "hi"}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.body["error"]["field"], "version");

    let history = app.get("csm", &format!("/api/v1/plans/{plan}")).await;
    let kinds: Vec<&str> = history.body["events"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds.first(), Some(&"created"));
    assert_eq!(kinds.last(), Some(&"objective_added"));
    let listed = app
        .get("leader", &format!("/api/v1/plans?account_id={account}"))
        .await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );

    // A viewer reads but does not change.
    let viewer = change(
        &app,
        "viewer",
        plan,
        2,
        json!({"kind": "comment", "text": "hi"}),
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN, "{}", viewer.text);
}

#[tokio::test]
async fn partners_work_only_on_their_accounts_plans() {
    let app = TestApp::spawn().await;
    let theirs = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/plans",
            Some(json!({"account_id": app.account("b"), "title": "B's plan"})),
        )
        .await;
    let theirs = theirs.body["id"].as_i64().unwrap_or_default();
    let mine = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/plans",
            Some(json!({"account_id": app.account("a"), "title": "A's plan"})),
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text);
    let listed = app.get("partner", "/api/v1/plans").await;
    let titles: Vec<&str> = listed
        .body
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["title"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(titles, ["A's plan"]);
    for path in [format!("/api/v1/plans/{theirs}")] {
        assert_eq!(
            app.get("partner", &path).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let foreign = change(
        &app,
        "partner",
        theirs,
        1,
        json!({"kind": "comment", "text": "x"}),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let share = app
        .call(
            Some("partner"),
            Method::POST,
            &format!("/api/v1/plans/{theirs}/shares"),
            Some(json!({"contact_id": app.seed.children[&("contacts", "b")]})),
        )
        .await;
    assert_eq!(share.status, StatusCode::NOT_FOUND, "{}", share.text);
    // Their own plan can be shared with their own account's contact.
    let mine = mine.body["id"].as_i64().unwrap_or_default();
    let shared = app
        .call(
            Some("partner"),
            Method::POST,
            &format!("/api/v1/plans/{mine}/shares"),
            Some(json!({"contact_id": app.seed.children[&("contacts", "a")]})),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
}

#[tokio::test]
async fn a_shared_link_opens_its_plan_only_and_nothing_internal() {
    let app = TestApp::spawn().await;
    let account = app.account("direct");
    let contact = app.seed.children[&("contacts", "direct")];
    let plan = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/plans",
            Some(json!({"account_id": account, "template": "renewal", "language": "en"})),
        )
        .await;
    let plan = plan.body["id"].as_i64().unwrap_or_default();
    let noted = change(
        &app,
        "csm",
        plan,
        1,
        json!({"kind": "comment", "text": "INTERNAL-NOTE budget is tight", "internal": true}),
    )
    .await;
    assert_eq!(noted.status, StatusCode::OK, "{}", noted.text);
    // Another account's plan, never reachable from this link.
    let other = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/plans",
            Some(json!({"account_id": app.account("a"), "title": "OTHER-PLAN-TITLE"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    let shared = app
        .call(
            Some("csm"),
            Method::POST,
            &format!("/api/v1/plans/{plan}/shares"),
            Some(json!({"contact_id": contact, "days": 7})),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    let url = shared.body["url"].as_str().unwrap_or_default().to_owned();
    let path = url
        .find("/shared/plans/")
        .map(|at| url[at..].to_owned())
        .unwrap_or_default();
    let page = app
        .send(app.client.get(format!("{}{path}", app.base)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Value before renewal"), "{}", page.text);
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    for hidden in [
        "INTERNAL-NOTE",
        "OTHER-PLAN-TITLE",
        "Budget owner changed",
        "Health",
        "Churn",
        "Account a",
        "/accounts/",
    ] {
        assert!(!page.text.contains(hidden), "{hidden} leaked");
    }
    // A wrong, tampered or revoked link gets the page an unknown address gets.
    let unknown = app
        .send(app.client.get(format!("{}/no/such/page", app.base)))
        .await;
    let mut tampered = path.clone();
    tampered.pop();
    tampered.push(if path.ends_with('A') { 'B' } else { 'A' });
    for bad in [
        tampered.as_str(),
        "/shared/plans/pl_nothing",
        "/shared/plans/..%2F..%2Fetc",
    ] {
        let reply = app.send(app.client.get(format!("{}{bad}", app.base))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(reply.text, unknown.text, "{bad}");
        let posted = app
            .send(
                app.client
                    .post(format!("{}{bad}", app.base))
                    .form(&[("action", "comment"), ("text", "hello")]),
            )
            .await;
        assert_eq!(posted.status, StatusCode::NOT_FOUND, "{bad}");
    }
    // The customer comments: it lands in the plan's history as theirs.
    let posted = app
        .send(
            app.client
                .post(format!("{}{path}", app.base))
                .form(&[("action", "comment"), ("text", "Looks good to us")]),
        )
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text);
    let detail = app.get("csm", &format!("/api/v1/plans/{plan}")).await;
    let last = detail.body["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["kind"], "commented");
    assert_eq!(last["author"], format!("contact:{contact}"));
    // Revoked: gone, like any unknown link.
    let share = shared.body["share"]["id"].as_i64().unwrap_or_default();
    let revoked = app
        .call(
            Some("csm"),
            Method::DELETE,
            &format!("/api/v1/plans/{plan}/shares/{share}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let gone = app
        .send(app.client.get(format!("{}{path}", app.base)))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.text, unknown.text);
}
