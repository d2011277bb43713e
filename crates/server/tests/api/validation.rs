//! Bad input: every case gets a 4xx with the same error shape naming the field, and
//! changes nothing.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    code: &'static str,
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    path: &'static str,
    body: &str,
    status: StatusCode,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method: Method::POST,
        path,
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
        status,
        code,
        field,
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = vec![
        case(
            "malformed json",
            "/api/v1/accounts",
            "{\"name\": ",
            bad,
            "malformed_json",
            None,
        ),
        case(
            "a password of spaces",
            "/api/v1/users",
            r#"{"email": "spaces@cs.example", "name": "Spaces", "role": "csm", "password": "            "}"#,
            bad,
            "invalid_field",
            Some("password"),
        ),
        case(
            "a password of 200,000 characters",
            "/api/v1/users",
            &format!(
                r#"{{"email": "long@cs.example", "name": "Long", "role": "csm", "password": "{}"}}"#,
                "ab".repeat(100_000)
            ),
            bad,
            "invalid_field",
            Some("password"),
        ),
        case(
            "trailing data after the JSON",
            "/api/v1/accounts",
            r#"{"name": "Trailing"} xyz"#,
            bad,
            "malformed_json",
            None,
        ),
        case(
            "two JSON values",
            "/api/v1/accounts",
            r#"{"name": "First"}{"name": "Second"}"#,
            bad,
            "malformed_json",
            None,
        ),
        case(
            "not an object",
            "/api/v1/accounts",
            "[1,2]",
            bad,
            "invalid_field",
            None,
        ),
        case(
            "wrong type",
            "/api/v1/accounts",
            r#"{"name": 5}"#,
            bad,
            "invalid_field",
            Some("name"),
        ),
        case(
            "unknown field",
            "/api/v1/accounts",
            r#"{"name": "x", "nmae": "y"}"#,
            bad,
            "invalid_field",
            Some("nmae"),
        ),
        case(
            "missing name",
            "/api/v1/accounts",
            r#"{"mrr": 5}"#,
            bad,
            "invalid_field",
            Some("name"),
        ),
        case(
            "empty name",
            "/api/v1/accounts",
            r#"{"name": "  "}"#,
            bad,
            "invalid_field",
            Some("name"),
        ),
        case(
            "negative mrr",
            "/api/v1/accounts",
            r#"{"name": "x", "mrr": -1}"#,
            bad,
            "invalid_field",
            Some("mrr"),
        ),
        case(
            "bad tier",
            "/api/v1/accounts",
            r#"{"name": "x", "tier": "gold"}"#,
            bad,
            "invalid_field",
            Some("tier"),
        ),
        case(
            "bad date",
            "/api/v1/accounts",
            r#"{"name": "x", "renewal_date": "2025-02-30"}"#,
            bad,
            "invalid_field",
            Some("renewal_date"),
        ),
        case(
            "contract ends before it starts",
            "/api/v1/accounts",
            r#"{"name": "x", "contract_start": "2025-05-01", "contract_end": "2025-04-01"}"#,
            bad,
            "invalid_field",
            Some("contract_end"),
        ),
        case(
            "unknown custom field",
            "/api/v1/accounts",
            r#"{"name": "x", "custom_fields": {"nps": 9}}"#,
            bad,
            "invalid_field",
            Some("custom_fields.nps"),
        ),
        case(
            "unknown owner",
            "/api/v1/accounts",
            r#"{"name": "x", "owner_id": 999}"#,
            bad,
            "invalid_field",
            Some("owner_id"),
        ),
        case(
            "bad email",
            "/api/v1/contacts",
            r#"{"account_id": 1, "name": "x", "email": "nope"}"#,
            bad,
            "invalid_field",
            Some("email"),
        ),
        case(
            "bad role",
            "/api/v1/contacts",
            r#"{"account_id": 1, "name": "x", "role": "boss"}"#,
            bad,
            "invalid_field",
            Some("role"),
        ),
        case(
            "subscription ends before start",
            "/api/v1/subscriptions",
            r#"{"account_id": 1, "plan": "pro", "mrr": 1, "start_date": "2025-01-02", "end_date": "2025-01-01"}"#,
            bad,
            "invalid_field",
            Some("end_date"),
        ),
        case(
            "bad touchpoint kind",
            "/api/v1/touchpoints",
            r#"{"account_id": 1, "kind": "lunch", "occurred_at": "2025-01-01"}"#,
            bad,
            "invalid_field",
            Some("kind"),
        ),
        // Found by Schemathesis: a day count beyond the calendar was a server error.
        case(
            "a horizon of two billion days for a backtest",
            "/api/v1/scorecards/backtest",
            r#"{"cards": {}, "horizon_days": 2147483646}"#,
            bad,
            "invalid_field",
            Some("horizon_days"),
        ),
        case(
            "a horizon of two billion days for a suggestion",
            "/api/v1/scorecards/suggest",
            r#"{"horizon_days": 2147483646}"#,
            bad,
            "invalid_field",
            Some("horizon_days"),
        ),
        case(
            "duplicate external id",
            "/api/v1/accounts",
            r#"{"name": "x", "external_id": "EXT-a"}"#,
            StatusCode::CONFLICT,
            "conflict",
            Some("external_id"),
        ),
    ];
    cases.push(Case {
        name: "oversize body",
        method: Method::POST,
        path: "/api/v1/accounts",
        content_type: "application/json",
        body: format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024)).into_bytes(),
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "payload_too_large",
        field: None,
    });
    cases.push(Case {
        name: "not json",
        method: Method::POST,
        path: "/api/v1/accounts",
        content_type: "text/plain",
        body: b"name=x".to_vec(),
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        field: None,
    });
    cases.push(Case {
        name: "bad patch type",
        method: Method::PATCH,
        path: "/api/v1/accounts/1",
        content_type: "application/json",
        body: br#"{"owner_id": "me"}"#.to_vec(),
        status: bad,
        code: "invalid_field",
        field: Some("owner_id"),
    });
    let before = app.get("admin", "/api/v1/accounts?limit=1000").await.text;
    let mut failures = Vec::new();
    for case in cases {
        let request = app
            .client
            .request(case.method.clone(), format!("{}{}", app.base, case.path))
            .bearer_auth(&app.tokens["admin"])
            .header("content-type", case.content_type)
            .body(case.body);
        let reply = app.send(request).await;
        let field = reply.body["error"]["field"].as_str();
        let message = reply.body["error"]["message"].as_str().unwrap_or("");
        if reply.status != case.status
            || reply.body["error"]["code"] != case.code
            || field != case.field
            || message.is_empty()
        {
            failures.push(format!(
                "{}: got {} {}",
                case.name,
                reply.status,
                reply.text.chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        app.get("admin", "/api/v1/accounts?limit=1000").await.text,
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn bad_query_parameters_name_the_parameter() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("stge=value", "stge"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("sort=colour", "sort"),
        ("cursor=garbage", "cursor"),
        ("renewal_to=soon", "renewal_to"),
        ("tier=gold", "tier"),
    ] {
        let reply = app.get("admin", &format!("/api/v1/accounts?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            reply.body["error"]["field"], field,
            "{query}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let missing = app.get("admin", "/api/v1/nothing-here").await;
    assert_eq!(
        (missing.status, missing.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let wrong = app
        .call(
            Some("admin"),
            Method::PUT,
            "/api/v1/accounts",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let no_account = app.get("admin", "/api/v1/accounts/999999").await;
    assert_eq!(no_account.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn custom_fields_are_typed_by_their_definition() {
    let app = TestApp::spawn().await;
    let defined = app
        .call(
            Some("admin"),
            Method::PUT,
            "/api/v1/custom-fields/industry",
            Some(json!({"label": "Industry", "kind": "enum", "options": ["retail", "finance"]})),
        )
        .await;
    assert_eq!(defined.status, StatusCode::NO_CONTENT, "{}", defined.text);
    let seats = app
        .call(
            Some("admin"),
            Method::PUT,
            "/api/v1/custom-fields/go_live",
            Some(json!({"label": "Go-live", "kind": "date"})),
        )
        .await;
    assert_eq!(seats.status, StatusCode::NO_CONTENT);
    let id = app.account("a");
    let path = format!("/api/v1/accounts/{id}");
    let set = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"custom_fields": {"industry": "retail", "go_live": "2025/04/01"}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(
        set.body["custom_fields"],
        json!({"industry": "retail", "go_live": "2025-04-01"})
    );
    let bad = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"custom_fields": {"industry": "mining"}})),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "custom_fields.industry");
    let cleared = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"custom_fields": {"go_live": null}})),
        )
        .await;
    assert_eq!(cleared.body["custom_fields"], json!({"industry": "retail"}));
    let kept = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"renewal_date": "2026-01-01"})),
        )
        .await;
    assert_eq!(
        kept.body["custom_fields"],
        json!({"industry": "retail"}),
        "absent means keep"
    );
    let cleared_field = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"renewal_date": null})),
        )
        .await;
    assert_eq!(
        cleared_field.body["renewal_date"],
        serde_json::Value::Null,
        "null means clear"
    );
}

#[tokio::test]
async fn deleting_a_partner_that_still_owns_accounts_answers_409_not_500() {
    let app = TestApp::spawn().await;
    let path = format!("/api/v1/partners/{}", app.seed.partner_a.get());
    let refused = app.call(Some("admin"), Method::DELETE, &path, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(
        refused.body["error"]["code"], "conflict",
        "{}",
        refused.text
    );
    // Nothing was deleted.
    let still = app.get("admin", &path).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.text);
}

#[tokio::test]
async fn a_touchpoint_by_an_unknown_user_answers_400_naming_user_id_not_500() {
    let app = TestApp::spawn().await;
    let before = app
        .get(
            "admin",
            &format!("/api/v1/touchpoints?account_id={}", app.account("a")),
        )
        .await
        .count();
    let refused = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/touchpoints",
            Some(
                serde_json::json!({"account_id": app.account("a"), "kind": "call",
                "occurred_at": "2026-01-05", "user_id": 999_999, "summary": "x"}),
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(
        refused.body["error"]["field"], "user_id",
        "{}",
        refused.text
    );
    let after = app
        .get(
            "admin",
            &format!("/api/v1/touchpoints?account_id={}", app.account("a")),
        )
        .await
        .count();
    assert_eq!(before, after, "nothing was recorded");
}

#[tokio::test]
async fn a_malformed_path_parameter_is_named_in_the_error_shape() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/accounts/abc",
        "/api/v1/requests/1x",
        "/api/v1/feedback/９",
    ] {
        let reply = app.get("admin", path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"]["code"], "invalid_field",
            "{path}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["field"], "id", "{path}: {}", reply.text);
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("application/json"),
            "{path}"
        );
    }
}
