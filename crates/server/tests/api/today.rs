//! Today over HTTP: a CSM's accounts with their reasons, snoozes with a reason, the health
//! sort and filter of the portfolio, and pages answering bad input with a page, not JSON.

use crate::helpers::{TestApp, ok};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Makes the csm user the owner of the direct account, renewing in 10 days.
async fn own_direct_account(app: &TestApp) -> (i64, i64) {
    let users = app.get("admin", "/api/v1/users").await;
    let csm = users
        .body
        .as_array()
        .and_then(|u| u.iter().find(|u| u["email"] == "csm@team.example"))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or(0);
    let renewal = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(10))
        .map(|d| d.to_string())
        .unwrap_or_default();
    let account = app.account("direct");
    let patched = app
        .call(
            Some("admin"),
            Method::PATCH,
            &format!("/api/v1/accounts/{account}"),
            Some(json!({"owner_id": csm, "renewal_date": renewal, "tier": "high", "mrr": 1000})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    (csm, account)
}

#[tokio::test]
async fn a_csms_today_lists_their_accounts_with_reasons_and_snoozes_hide_them() {
    let app = TestApp::spawn().await;
    let (_, account) = own_direct_account(&app).await;
    let today = app.get("csm", "/api/v1/today?lang=ja").await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.text);
    let items = today.body["items"].as_array().cloned().unwrap_or_default();
    let item = items
        .iter()
        .find(|i| i["account"]["id"].as_i64() == Some(account))
        .unwrap_or_else(|| panic!("not in Today: {}", today.text));
    let texts: Vec<&str> = item["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["text"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(texts[0], "10日後に更新、ARR $12,000.00", "{texts:?}");
    assert!(
        today.body["formula"]
            .as_str()
            .unwrap_or("")
            .starts_with("優先度")
    );
    assert_eq!(today.body["renewals"][0].as_i64(), Some(account));

    // A snooze needs a reason and a day not in the past; it hides the account until then.
    let path = format!("/api/v1/accounts/{account}/snooze");
    let refused = app
        .call(
            Some("csm"),
            Method::POST,
            &path,
            Some(json!({"until": "2001-01-01", "reason": "x"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"]["field"], "until", "{}", refused.text);
    let refused = app
        .call(
            Some("csm"),
            Method::POST,
            &path,
            Some(json!({"until": "2099-01-01", "reason": " "})),
        )
        .await;
    assert_eq!(refused.body["error"]["field"], "reason", "{}", refused.text);
    let snoozed = app
        .call(
            Some("csm"),
            Method::POST,
            &path,
            Some(json!({"until": "2099-01-01", "reason": "waiting for their budget"})),
        )
        .await;
    assert_eq!(snoozed.status, StatusCode::NO_CONTENT, "{}", snoozed.text);
    let today = app.get("csm", "/api/v1/today").await;
    assert!(
        today.body["items"].as_array().is_some_and(|items| items
            .iter()
            .all(|i| i["account"]["id"].as_i64() != Some(account))),
        "{}",
        today.text
    );
    assert_eq!(
        today.body["snoozed"][0]["snooze_reason"],
        "waiting for their budget"
    );
    // A service token has no person: it cannot snooze, and must name an owner for Today.
    let service = app
        .call(
            Some("service-write"),
            Method::POST,
            &path,
            Some(json!({"until": "2099-01-01", "reason": "x"})),
        )
        .await;
    assert_eq!(service.status, StatusCode::BAD_REQUEST, "{}", service.text);
    let woke = app.call(Some("csm"), Method::DELETE, &path, None).await;
    assert_eq!(woke.status, StatusCode::NO_CONTENT);
    let today = app.get("csm", "/api/v1/today").await;
    assert!(today.body["snoozed"].as_array().is_some_and(Vec::is_empty));
    // A partner user's Today is every account of their partner (and only those).
    let partner = app.get("partner", "/api/v1/today").await;
    assert_eq!(partner.status, StatusCode::OK, "{}", partner.text);
    assert!(partner.body["owner_id"].is_null(), "{}", partner.text);
    assert_eq!(
        partner.body["accounts"].as_u64(),
        Some(1),
        "{}",
        partner.text
    );
    assert!(
        partner.body["items"].as_array().is_some_and(|items| items
            .iter()
            .all(|i| i["account"]["id"].as_i64() == Some(app.account("a")))),
        "{}",
        partner.text
    );
    // A partner cannot snooze an account it cannot see.
    let hidden = app
        .call(
            Some("partner"),
            Method::POST,
            &path,
            Some(json!({"until": "2099-01-01", "reason": "x"})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
}

#[tokio::test]
async fn the_portfolio_sorts_and_filters_by_health_and_shows_errors_as_pages() {
    let app = TestApp::spawn().await;
    for sort in [
        "health",
        "-health",
        "health_change",
        "-forecast_risk",
        "last_touch",
    ] {
        let reply = app
            .get("admin", &format!("/api/v1/accounts?sort={sort}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{sort}: {}", reply.text);
    }
    let churned = app.get("admin", "/api/v1/accounts?churned=true").await;
    assert_eq!(churned.count(), 0);
    let bad = app.get("admin", "/api/v1/accounts?health=blue").await;
    assert_eq!(bad.body["error"]["field"], "health", "{}", bad.text);
    let bad = app.get("admin", "/api/v1/accounts?risk_min=30").await;
    assert_eq!(bad.body["error"]["field"], "risk_min", "{}", bad.text);
    let quiet = app
        .get("admin", "/api/v1/accounts?untouched_since=2000-01-01")
        .await;
    assert_eq!(quiet.status, StatusCode::OK, "{}", quiet.text);

    // In the browser, the same bad input is a page in the user's language.
    let (cookie, _) = app
        .login("csm@team.example", crate::helpers::PASSWORD)
        .await;
    let page = ok(app
        .client
        .get(format!("{}/portfolio?sort=colour", app.base))
        .header("cookie", &cookie)
        .header("accept-language", "ja")
        .send()
        .await);
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let content_type = page
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = ok(page.text().await);
    assert!(
        html.contains("sort") && html.contains("<html lang=\"ja\""),
        "{html}"
    );
    let sorted = ok(app
        .client
        .get(format!("{}/portfolio?sort=health&status=all", app.base))
        .header("cookie", &cookie)
        .send()
        .await);
    assert_eq!(sorted.status(), StatusCode::OK);
    let today = ok(app
        .client
        .get(format!("{}/today", app.base))
        .header("cookie", &cookie)
        .send()
        .await);
    assert_eq!(today.status(), StatusCode::OK);
}

#[tokio::test]
async fn bulk_actions_change_every_selected_account_or_none() {
    let app = TestApp::spawn().await;
    let (cookie, csrf) = app
        .login("admin@team.example", crate::helpers::PASSWORD)
        .await;
    let (a, direct) = (
        app.account("a").to_string(),
        app.account("direct").to_string(),
    );
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(format!("{}/portfolio/bulk", app.base))
            .header("cookie", &cookie)
            .form(&form)
    };
    let tier_of = |reply: &crate::helpers::Reply| reply.body["tier"].as_str().map(str::to_owned);
    // A bad value changes nothing and answers with a page naming the field.
    let refused = app
        .send(post(vec![
            ("csrf_token", csrf.clone()),
            ("action", "tier".into()),
            ("tier", "platinum".into()),
            ("ids", a.clone()),
            ("ids", direct.clone()),
        ]))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("tier"), "{}", refused.text);
    let before = app.get("admin", &format!("/api/v1/accounts/{a}")).await;
    assert_eq!(tier_of(&before), None);
    // A good one changes every selected account and goes back to the list.
    let done = app
        .send(post(vec![
            ("csrf_token", csrf.clone()),
            ("action", "tier".into()),
            ("tier", "high".into()),
            ("ids", a.clone()),
            ("ids", direct.clone()),
            ("next", "/portfolio?tier=high".into()),
        ]))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    for id in [&a, &direct] {
        let account = app.get("admin", &format!("/api/v1/accounts/{id}")).await;
        assert_eq!(
            tier_of(&account).as_deref(),
            Some("high"),
            "{}",
            account.text
        );
    }
    // Without the CSRF token nothing happens.
    let forged = app
        .send(post(vec![
            ("csrf_token", "forged".into()),
            ("action", "tier".into()),
            ("tier", "tech".into()),
            ("ids", a.clone()),
        ]))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let account = app.get("admin", &format!("/api/v1/accounts/{a}")).await;
    assert_eq!(tier_of(&account).as_deref(), Some("high"));
}

#[tokio::test]
async fn leaders_see_the_teams_tasks_and_the_dashboards_name_owners_and_page_renewals() {
    let app = TestApp::spawn().await;
    let (csm, account) = own_direct_account(&app).await;
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"account_id": account, "owner_id": csm, "title": "Prepare the QBR deck", "due_on": "2099-01-01"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let (cookie, _) = app
        .login("leader@team.example", crate::helpers::PASSWORD)
        .await;
    let page = |path: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .header("accept-language", "en")
    };
    let mine = ok(ok(page("/tasks").send().await).text().await);
    assert!(
        !mine.contains("Prepare the QBR deck"),
        "the leader's own list"
    );
    let team = ok(ok(page("/tasks?owner=team").send().await).text().await);
    assert!(
        team.contains("Prepare the QBR deck") && team.contains("The team's tasks"),
        "{team}"
    );
    let theirs = ok(ok(page(&format!("/tasks?owner={csm}")).send().await)
        .text()
        .await);
    assert!(theirs.contains("Prepare the QBR deck"), "{theirs}");
    let bad = ok(page("/tasks?owner=everyone").send().await);
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(ok(bad.text().await).contains("owner"));
    // Renewals page through the table; owners are named.
    let dashboards = ok(ok(page("/dashboards?renewals_page=1").send().await)
        .text()
        .await);
    assert!(
        dashboards.contains("data-testid=\"renewals-range\""),
        "{dashboards}"
    );
    assert!(dashboards.contains("csm@team.example"), "{dashboards}");
    // A partner's dashboard names the CSM who owns its account, and has one unowned row.
    let patched = app
        .call(
            Some("admin"),
            Method::PATCH,
            &format!("/api/v1/accounts/{}", app.account("a")),
            Some(json!({"owner_id": csm})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let (partner_cookie, _) = app
        .login("partner@team.example", crate::helpers::PASSWORD)
        .await;
    let partner = ok(ok(app
        .client
        .get(format!("{}/dashboards", app.base))
        .header("cookie", &partner_cookie)
        .header("accept-language", "en")
        .send()
        .await)
    .text()
    .await);
    assert!(partner.contains("csm@team.example"), "{partner}");
    assert!(partner.matches("(no owner)").count() <= 1, "{partner}");
}
