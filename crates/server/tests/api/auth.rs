//! Authentication: what needs credentials, tokens and their scopes, sessions with CSRF,
//! the login throttle, and the HTML login flow.

use crate::helpers::{PASSWORD, TestApp};
use mikawaya_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn every_route_but_healthz_and_readyz_needs_credentials() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.call(None, Method::GET, "/healthz", None).await.status,
        StatusCode::OK
    );
    let ready = app.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(ready.body["schema_applied"], ready.body["schema_known"]);
    assert!(ready.body["schema_known"].as_u64().unwrap_or(0) >= 18);
    assert_eq!(ready.body["rollup_backlog"], 0);
    assert_eq!(ready.body["stopping"], false);
    let openapi = app.get("viewer", "/api/v1/openapi.json").await;
    let paths: Vec<String> = openapi.body["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths
        .iter()
        .filter(|p| !["/healthz", "/readyz"].contains(&p.as_str()))
    {
        let concrete = path
            .replace("{id}", "1")
            .replace("{key}", "k")
            .replace("{kind}", "accounts");
        let reply = app.call(None, Method::GET, &concrete, None).await;
        assert!(
            reply.status == StatusCode::UNAUTHORIZED
                || reply.status == StatusCode::METHOD_NOT_ALLOWED,
            "GET {concrete} without credentials gave {}",
            reply.status
        );
        if reply.status == StatusCode::UNAUTHORIZED {
            assert_eq!(reply.body["error"]["code"], "unauthenticated");
        }
    }
    let page = app.call(None, Method::GET, "/portfolio", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], "/login");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_methods() {
    let app = TestApp::spawn().await;
    let document = app.get("viewer", "/api/v1/openapi.json").await;
    assert!(
        document.body["openapi"]
            .as_str()
            .unwrap_or("")
            .starts_with("3.")
    );
    let expected = [
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{id}", "patch"),
        ("/api/v1/accounts/{id}", "delete"),
        ("/api/v1/contacts/{id}", "get"),
        ("/api/v1/subscriptions", "post"),
        ("/api/v1/touchpoints", "get"),
        ("/api/v1/segments/{id}/accounts", "get"),
        ("/api/v1/partners", "post"),
        ("/api/v1/users", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/custom-fields/{key}", "put"),
        ("/api/v1/import/{kind}", "post"),
        ("/api/v1/session", "post"),
        ("/api/v1/me", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/feedback", "post"),
        ("/api/v1/requests/{id}", "patch"),
        ("/api/v1/surveys/{name}/sends", "post"),
        ("/api/v1/hooks/product", "post"),
    ];
    for (path, method) in expected {
        assert!(
            document.body["paths"][path][method].is_object(),
            "{method} {path} missing from the document"
        );
    }
    // Every operation names the errors it can answer with; days and page sizes have their
    // formats and bounds.
    for (path, item) in document.body["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let responses = &operation["responses"];
            let public = operation["security"].as_array().is_some_and(|r| {
                r.iter()
                    .all(|x| x.as_object().is_some_and(|o| o.is_empty()))
            });
            assert!(
                public || responses["401"].is_object(),
                "{method} {path}: no 401"
            );
            let has_params = operation["parameters"]
                .as_array()
                .is_some_and(|p| !p.is_empty());
            assert!(
                !has_params || responses["400"].is_object(),
                "{method} {path}: no 400"
            );
            if method != "get" && !public {
                assert!(responses["409"].is_object(), "{method} {path}: no 409");
            }
        }
    }
    let parameter = |path: &str, name: &str| {
        document.body["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_default()
    };
    for null in [
        "\"parameters\":null",
        "\"properties\":null",
        "\"schema\":null",
    ] {
        assert!(!document.text.contains(null), "{null} in the document");
    }
    assert_eq!(parameter("/api/v1/accounts", "limit")["maximum"], 1000);
    assert_eq!(
        parameter("/api/v1/subscriptions", "active_on")["format"],
        "date"
    );
    assert!(
        parameter("/api/v1/touchpoints", "from")["format"].is_null(),
        "an instant is not a date"
    );
    assert_eq!(
        document.body["paths"]["/api/v1/book"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["type"],
        "array"
    );
    // Every schema the document refers to is in it (generators and validators need them).
    let text = document.text.as_str();
    let defined = &document.body["components"]["schemas"];
    let missing: Vec<&str> = text
        .split("#/components/schemas/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| defined[*name].is_null())
        .collect();
    assert!(
        missing.is_empty(),
        "schemas referred to but missing: {missing:?}"
    );
}

#[tokio::test]
async fn token_scopes_cap_what_a_token_does() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Scoped"});
    assert_eq!(app.get("service-read", "/api/v1/accounts").await.count(), 3);
    assert_eq!(
        app.call(
            Some("service-read"),
            Method::POST,
            "/api/v1/accounts",
            Some(body.clone())
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(
            Some("service-write"),
            Method::POST,
            "/api/v1/accounts",
            Some(body)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get("service-write", "/api/v1/tokens").await.status,
        StatusCode::FORBIDDEN
    );
    let bogus = app
        .client
        .get(format!("{}/api/v1/accounts", app.base))
        .bearer_auth("mkw_not-a-token");
    assert_eq!(app.send(bogus).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_created_token_works_once_shown_and_stops_when_revoked() {
    let app = TestApp::spawn().await;
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "scope": "read"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().unwrap_or("").to_owned();
    assert!(secret.starts_with("mkw_"));
    let listed = app.get("admin", "/api/v1/tokens").await;
    assert!(!listed.text.contains(&secret), "the secret is never listed");
    let use_it = || {
        app.client
            .get(format!("{}/api/v1/accounts", app.base))
            .bearer_auth(&secret)
    };
    assert_eq!(app.send(use_it()).await.status, StatusCode::OK);
    let id = created.body["id"].as_i64().unwrap_or_default();
    assert_eq!(
        app.call(
            Some("admin"),
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.send(use_it()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_cookie_is_secure_and_changes_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let wrong = app
        .call(
            None,
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "csm@team.example", "password": "nope nope nope"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let reply = app
        .call(
            None,
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "csm@team.example", "password": PASSWORD})),
        )
        .await;
    let set_cookie = reply.headers["set-cookie"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax"] {
        assert!(set_cookie.contains(flag), "{set_cookie} lacks {flag}");
    }
    let (cookie, csrf) = app.login("csm@team.example", PASSWORD).await;
    let me = app
        .send(
            app.client
                .get(format!("{}/api/v1/me", app.base))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(me.body["user"]["email"], "csm@team.example");
    let create = |with_csrf: Option<&str>| {
        let request = app
            .client
            .post(format!("{}/api/v1/accounts", app.base))
            .header("cookie", &cookie)
            .json(&json!({"name": "Via cookie"}));
        match with_csrf {
            Some(token) => request.header("x-csrf-token", token),
            None => request,
        }
    };
    let refused = app.send(create(None)).await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf_failed"))
    );
    assert_eq!(
        app.send(create(Some("forged"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(create(Some(&csrf))).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get("admin", "/api/v1/accounts?q=Via%20cookie")
            .await
            .count(),
        1,
        "only the request with the token wrote"
    );
    let logout = app
        .client
        .delete(format!("{}/api/v1/session", app.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf);
    assert_eq!(app.send(logout).await.status, StatusCode::NO_CONTENT);
    let after = app
        .send(
            app.client
                .get(format!("{}/api/v1/me", app.base))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let reply = app
            .call(
                None,
                Method::POST,
                "/api/v1/session",
                Some(json!({"email": "leader@team.example", "password": "wrong password"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app
        .call(
            None,
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "leader@team.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.contains_key("retry-after"));
    app.login("viewer@team.example", PASSWORD).await;
}

/// Sends the login form as a browser would: first GET /login for the CSRF cookie.
async fn html_login(app: &TestApp, email: &str, accept_language: &str) -> String {
    let form = app
        .send(app.client.get(format!("{}/login", app.base)))
        .await;
    let csrf_cookie = form.headers["set-cookie"]
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let token = csrf_cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    assert!(
        form.text.contains(&format!("value=\"{token}\"")),
        "the form carries the CSRF token"
    );
    let posted = app
        .send(
            app.client
                .post(format!("{}/login", app.base))
                .header("cookie", &csrf_cookie)
                .header("accept-language", accept_language)
                .form(&[
                    ("email", email),
                    ("password", PASSWORD),
                    ("csrf_token", &token),
                ]),
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
    posted.headers["set-cookie"]
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn the_portfolio_page_shows_what_the_user_may_see_in_their_language() {
    let app = TestApp::spawn().await;
    let cookie = html_login(&app, "partner@team.example", "en").await;
    let page = app
        .send(
            app.client
                .get(format!("{}/portfolio", app.base))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Account a")
            && !page.text.contains("Account b")
            && !page.text.contains("Account direct")
    );
    let cookie = html_login(&app, "csm@team.example", "ja").await;
    let page = app
        .send(
            app.client
                .get(format!("{}/portfolio?sort=-mrr", app.base))
                .header("cookie", &cookie)
                .header("accept-language", "ja,en;q=0.5"),
        )
        .await;
    assert!(page.text.contains("ポートフォリオ"), "Japanese labels");
    let (direct, b) = (
        page.text.find("Account direct").unwrap_or(usize::MAX),
        page.text.find("Account b").unwrap_or(0),
    );
    assert!(direct < b, "sorted by ARR descending");
    let filtered = app
        .send(
            app.client
                .get(format!("{}/portfolio?q=Account%20b", app.base))
                .header("cookie", &cookie),
        )
        .await;
    assert!(filtered.text.contains("Account b") && !filtered.text.contains("Account a<"));
}

#[tokio::test]
async fn the_login_form_refuses_a_post_without_its_csrf_cookie() {
    let app = TestApp::spawn().await;
    let posted = app
        .send(app.client.post(format!("{}/login", app.base)).form(&[
            ("email", "csm@team.example"),
            ("password", PASSWORD),
            ("csrf_token", "x"),
        ]))
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);
    assert!(!posted.headers.contains_key("location"));
}

#[tokio::test]
async fn cookies_can_drop_the_secure_flag_when_configured() {
    let app = TestApp::spawn_with(ServerConfig {
        secure_cookies: false,
        ..ServerConfig::default()
    })
    .await;
    let reply = app
        .call(
            None,
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "csm@team.example", "password": PASSWORD})),
        )
        .await;
    assert!(
        !reply.headers["set-cookie"]
            .to_str()
            .unwrap_or("")
            .contains("Secure")
    );
}

#[tokio::test]
async fn metrics_count_requests_and_rows() {
    let app = TestApp::spawn().await;
    app.get("admin", "/api/v1/accounts").await;
    let metrics = app.get("admin", "/metrics").await;
    assert_eq!(
        metrics
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "the body is OpenMetrics (it ends with # EOF), so it says so"
    );
    assert!(metrics.text.trim_end().ends_with("# EOF"));
    assert!(metrics.text.contains("mikawaya_http_requests_total{method=\"GET\",route=\"/api/v1/accounts\",status=\"200\"} 1"), "{}", metrics.text);
    assert!(
        metrics
            .text
            .contains("mikawaya_store_rows{entity=\"accounts\"} 3")
    );
    assert!(
        metrics.text.contains("mikawaya_rollup_backlog 0"),
        "{}",
        metrics.text
    );
    // Nobody but an admin learns the size of the book from here.
    for role in ["partner", "csm", "viewer", "leader"] {
        let refused = app.get(role, "/metrics").await;
        assert_eq!(refused.status, reqwest::StatusCode::FORBIDDEN, "{role}");
        assert!(!refused.text.contains("mikawaya_store_rows"), "{role}");
    }
}
