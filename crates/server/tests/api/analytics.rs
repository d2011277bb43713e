//! Churn and retention over HTTP, on a small subscription history computed by hand, and
//! scoped to what the caller may see.

use crate::helpers::TestApp;
use reqwest::StatusCode;

/// Accounts a (partner A), b (partner B) and direct each get a history for January 2026
/// (t0 = Jan 1, t1 = Feb 1), on top of the seed's rows (each seed row runs from 2025-01-01
/// with no end, MRR 100 / 200 / 300):
/// - a: a second row 50 → ends Jan 15 (contraction of 50 for a);
/// - b: the seed row is ended on Jan 20 by an update below (churn of 200);
/// - direct: a second row of 150 starts Jan 10 (expansion of 150).
#[tokio::test]
async fn churn_over_http_matches_the_hand_computation_and_respects_partners() {
    let app = TestApp::spawn().await;
    let csv = "external_id,account_external_id,plan,quantity,mrr,start_date,end_date\n\
               X-a,EXT-a,addon,1,50,2025-06-01,2026-01-15\n\
               X-direct,EXT-direct,addon,1,150,2026-01-10,\n";
    let import = app
        .client
        .post(format!("{}/api/v1/import/subscriptions", app.base))
        .bearer_auth(&app.tokens["admin"])
        .body(csv);
    assert_eq!(app.send(import).await.status, StatusCode::OK);
    let b_row = app.seed.children[&("subscriptions", "b")];
    let end_b = app
        .client
        .patch(format!("{}/api/v1/subscriptions/{b_row}", app.base))
        .bearer_auth(&app.tokens["admin"])
        .json(&serde_json::json!({"end_date": "2026-01-20"}));
    assert_eq!(app.send(end_b).await.status, StatusCode::OK);

    let report = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01",
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    // Cohort: a (150), b (200), direct (300) = 650. Churned: b (200).
    // Contraction: a 150 → 100 = 50. Expansion: direct 300 → 450 = 150.
    let body = &report.body;
    assert_eq!(
        (body["accounts_at_start"].as_u64(), body["churned"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(body["logo_churn_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(body["mrr_churn_rate"].as_f64(), Some(200.0 / 650.0));
    assert_eq!(body["grr"].as_f64(), Some((650.0 - 200.0 - 50.0) / 650.0));
    assert_eq!(
        body["nrr"].as_f64(),
        Some((650.0 - 200.0 - 50.0 + 150.0) / 650.0)
    );

    // A partner sees only its own account: a, 150 → 100.
    let partner = app
        .get(
            "partner",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01",
        )
        .await;
    assert_eq!(
        (
            partner.body["accounts_at_start"].as_u64(),
            partner.body["churned"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(partner.body["grr"].as_f64(), Some(100.0 / 150.0));

    let backwards = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2026-02-01&to=2026-01-01",
        )
        .await;
    assert_eq!(
        (backwards.status, backwards.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("to"))
    );
    let empty = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2001-01-01&to=2001-02-01",
        )
        .await;
    assert_eq!(empty.body["logo_churn_rate"], serde_json::Value::Null);
}

/// A metric values answer as account external id → value.
fn values_by_account(body: &serde_json::Value) -> std::collections::HashMap<String, Option<f64>> {
    body.as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            (
                row["account_external_id"].as_str().unwrap_or("").to_owned(),
                row["value"].as_f64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_defined_over_http_and_valued_per_visible_account() {
    let app = TestApp::spawn().await;
    let key = app
        .call(
            Some("admin"),
            reqwest::Method::POST,
            "/api/v1/write-keys",
            Some(serde_json::json!({"name": "m"})),
        )
        .await
        .body["key"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    let batch = serde_json::json!({"batch": [
        {"type": "track", "userId": "a1", "event": "Login", "properties": {"method": "sso"}, "context": {"groupId": "EXT-a"}, "timestamp": yesterday.to_string()},
        {"type": "track", "userId": "a2", "event": "Login", "properties": {"method": "password"}, "context": {"groupId": "EXT-a"}, "timestamp": yesterday.to_string()},
        {"type": "track", "userId": "b1", "event": "Login", "properties": {"method": "sso"}, "context": {"groupId": "EXT-b"}, "timestamp": yesterday.to_string()},
    ]});
    let sent = app
        .client
        .post(format!("{}/v1/batch", app.base))
        .basic_auth(&key, Some(""))
        .json(&batch);
    assert_eq!(app.send(sent).await.status, StatusCode::OK);
    let define = |role: &'static str, body: serde_json::Value| {
        app.call(
            Some(role),
            reqwest::Method::POST,
            "/api/v1/metrics",
            Some(body),
        )
    };
    assert_eq!(
        define(
            "csm",
            serde_json::json!({"name": "logins", "kind": "count", "event": "Login"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let bad = define(
        "leader",
        serde_json::json!({"name": "logins", "kind": "count"}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("event"))
    );
    assert_eq!(define("leader", serde_json::json!({"name": "logins", "kind": "count", "event": "Login", "window_days": 7})).await.status, StatusCode::CREATED);
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date();
    let values = app
        .get(
            "viewer",
            &format!("/api/v1/metrics/logins/values?as_of={today}"),
        )
        .await;
    let by_account = values_by_account(&values.body);
    assert_eq!(
        (
            by_account["EXT-a"],
            by_account["EXT-b"],
            by_account["EXT-direct"]
        ),
        (Some(2.0), Some(1.0), Some(0.0)),
        "{}",
        values.text
    );
    let partner = app
        .get(
            "partner",
            &format!("/api/v1/metrics/logins/values?as_of={today}"),
        )
        .await;
    assert_eq!(
        partner.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        partner.text
    );
    // The bulk table: every account for a viewer, the partner's own only for the partner.
    let table_path =
        format!("/api/v1/analytics/metric-table?names=logins&from={today}&to={today}&format=jsonl");
    let table = |role: &'static str| app.get(role, &table_path);
    let lines = |text: &str| -> Vec<(String, f64)> {
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|row| {
                (
                    row["external_id"].as_str().unwrap_or("").to_owned(),
                    row["logins"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect()
    };
    let everyone = table("viewer").await;
    let mut seen = lines(&everyone.text);
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        seen.contains(&("EXT-a".to_owned(), 2.0)) && seen.contains(&("EXT-b".to_owned(), 1.0)),
        "{}",
        everyone.text
    );
    let own = table("partner").await;
    assert_eq!(
        lines(&own.text).len(),
        1,
        "a partner sees its own accounts only: {}",
        own.text
    );
    assert_eq!(
        app.get("viewer", "/api/v1/metrics/nope/values?as_of=2026-01-01")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A filter on properties, defined after the events arrived: filled in from the log,
    // then kept current as more arrive.
    let sso = |value: serde_json::Value| serde_json::json!({"name": "sso-logins", "kind": "count", "event": "Login", "window_days": 7, "where": [{"property": "method", "op": "eq", "value": value}]});
    let bad = define("leader", sso(serde_json::json!(null))).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("where.value"))
    );
    assert_eq!(
        define("leader", sso(serde_json::json!("sso"))).await.status,
        StatusCode::CREATED
    );
    let sso_values = || async {
        let values = app
            .get(
                "viewer",
                &format!("/api/v1/metrics/sso-logins/values?as_of={today}"),
            )
            .await;
        let by_account = values_by_account(&values.body);
        (by_account["EXT-a"], by_account["EXT-b"])
    };
    assert_eq!(sso_values().await, (Some(1.0), Some(1.0)));
    let more = serde_json::json!({"batch": [
        {"type": "track", "userId": "a2", "event": "Login", "properties": {"method": "sso"}, "context": {"groupId": "EXT-a"}, "timestamp": yesterday.to_string()},
        {"type": "track", "userId": "b1", "event": "Login", "properties": {"method": "password"}, "context": {"groupId": "EXT-b"}, "timestamp": yesterday.to_string()},
    ]});
    let sent = app
        .client
        .post(format!("{}/v1/batch", app.base))
        .basic_auth(&key, Some(""))
        .json(&more);
    assert_eq!(app.send(sent).await.status, StatusCode::OK);
    assert_eq!(sso_values().await, (Some(2.0), Some(1.0)));
}

#[tokio::test]
async fn stored_metric_series_read_back_scoped_and_checked() {
    use mikawaya_domain::Actor;
    let app = TestApp::spawn().await;
    let defined = app
        .call(
            Some("leader"),
            reqwest::Method::POST,
            "/api/v1/metrics",
            Some(serde_json::json!({"name": "seats", "kind": "seats"})),
        )
        .await;
    assert_eq!(defined.status, StatusCode::CREATED, "{}", defined.text);
    let manage = Actor::system().manage().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (app.seed.accounts["a"], app.seed.accounts["b"]);
    app.with_store(move |store| {
        for (day, value) in [("2026-03-01", 5.0), ("2026-03-08", 7.0)] {
            let day: jiff::civil::Date = day.parse().unwrap_or_else(|e| panic!("{e}"));
            store
                .put_metric_values(&manage, "seats", day, &[(a, Some(value)), (b, None)])
                .unwrap_or_else(|e| panic!("{e}"));
        }
    })
    .await;
    let path =
        |account: i64, query: &str| format!("/api/v1/accounts/{account}/metrics/seats?{query}");
    let series = app
        .get("partner", &path(a.get(), "from=2026-03-01&to=2026-03-31"))
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text);
    assert_eq!(
        series.body,
        serde_json::json!([{"day": "2026-03-01", "value": 5.0}, {"day": "2026-03-08", "value": 7.0}])
    );
    let one = app
        .get("viewer", &path(a.get(), "from=2026-03-02&to=2026-03-08"))
        .await;
    assert_eq!(
        one.body,
        serde_json::json!([{"day": "2026-03-08", "value": 7.0}])
    );
    // Partner A cannot read partner B's account; unknown metrics and bad ranges are refused.
    assert_eq!(
        app.get("partner", &path(b.get(), "")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(
            "viewer",
            &format!("/api/v1/accounts/{}/metrics/nope", a.get())
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let backwards = app
        .get("viewer", &path(a.get(), "from=2026-04-01&to=2026-03-01"))
        .await;
    assert_eq!(
        (backwards.status, backwards.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, serde_json::json!("from"))
    );
}

#[tokio::test]
async fn pulses_are_recorded_checked_and_read_by_the_pulse_metric() {
    let app = TestApp::spawn().await;
    let a = app.seed.accounts["a"].get();
    let b = app.seed.accounts["b"].get();
    let path = |account: i64| format!("/api/v1/accounts/{account}/pulses");
    for (body, field) in [
        (serde_json::json!({"score": 101, "reason": "x"}), "score"),
        (serde_json::json!({"score": 50, "reason": "  "}), "reason"),
        (serde_json::json!({"score": 50}), "reason"),
    ] {
        let refused = app
            .call(
                Some("partner"),
                reqwest::Method::POST,
                &path(a),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (refused.status, refused.body["error"]["field"].clone()),
            (StatusCode::BAD_REQUEST, serde_json::json!(field)),
            "{body}"
        );
    }
    assert_eq!(
        app.call(
            Some("partner"),
            reqwest::Method::POST,
            &path(b),
            Some(serde_json::json!({"score": 50, "reason": "x"}))
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "partner A cannot pulse B's account"
    );
    let recorded = app
        .call(
            Some("partner"),
            reqwest::Method::POST,
            &path(a),
            Some(serde_json::json!({"score": 35, "reason": "champion on leave, budget review pending"})),
        )
        .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    let defined = app
        .call(
            Some("leader"),
            reqwest::Method::POST,
            "/api/v1/metrics",
            Some(serde_json::json!({"name": "pulse", "kind": "pulse", "window_days": 30})),
        )
        .await;
    assert_eq!(defined.status, StatusCode::CREATED, "{}", defined.text);
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap_or_else(|e| panic!("{e}"));
    let values = app
        .get(
            "admin",
            &format!("/api/v1/metrics/pulse/values?as_of={tomorrow}"),
        )
        .await;
    let of = |key: &str| {
        values
            .body
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["account_external_id"] == key))
            .map(|r| r["value"].clone())
    };
    assert_eq!(
        of("EXT-a"),
        Some(serde_json::json!(35.0)),
        "{}",
        values.text
    );
    assert_eq!(of("EXT-b"), Some(serde_json::Value::Null));
}

#[tokio::test]
async fn churn_by_cohort_over_http_respects_partners() {
    let app = TestApp::spawn().await;
    let all = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01&by=partner",
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let cohorts = all.body["cohorts"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        cohorts.len(),
        3,
        "partner A, partner B and direct: {}",
        all.text
    );
    let total: u64 = cohorts
        .iter()
        .filter_map(|c| c["accounts_at_start"].as_u64())
        .sum();
    assert_eq!(
        Some(total),
        all.body["accounts_at_start"].as_u64(),
        "the cohorts add up"
    );
    assert!(cohorts.iter().any(|c| c["cohort"] == "(direct)"));
    let scoped = app
        .get(
            "partner",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01&by=partner",
        )
        .await;
    assert_eq!(
        scoped.body["cohorts"].as_array().map(Vec::len),
        Some(1),
        "{}",
        scoped.text
    );
    assert_eq!(scoped.body["accounts_at_start"], 1);
    let bad = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01&by=zodiac",
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, serde_json::json!("by"))
    );
    let plain = app
        .get(
            "viewer",
            "/api/v1/analytics/churn?from=2026-01-01&to=2026-02-01",
        )
        .await;
    assert!(plain.body.get("cohorts").is_none());
}

#[tokio::test]
async fn a_metric_is_renamed_and_deleted_over_http_by_those_who_manage() {
    let app = TestApp::spawn().await;
    let call = |role: &'static str, method: reqwest::Method, path: &'static str, body| {
        app.call(Some(role), method, path, body)
    };
    let defined = call(
        "leader",
        reqwest::Method::POST,
        "/api/v1/metrics",
        Some(serde_json::json!({"name": "exports_28d", "kind": "count", "event": "Export"})),
    )
    .await;
    assert_eq!(defined.status, StatusCode::CREATED, "{}", defined.text);
    let rename = || Some(serde_json::json!({"to": "Exports"}));
    let path = "/api/v1/metrics/exports_28d/rename";
    let csm = call("csm", reqwest::Method::POST, path, rename()).await;
    assert_eq!(csm.status, StatusCode::FORBIDDEN, "{}", csm.text);
    let bad = call(
        "leader",
        reqwest::Method::POST,
        path,
        Some(serde_json::json!({"to": "exports!"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["error"]["field"], "to", "{}", bad.text);
    let renamed = call("leader", reqwest::Method::POST, path, rename()).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["spec"]["name"], "exports");
    let gone = call("leader", reqwest::Method::POST, path, rename()).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    let deleted = call(
        "leader",
        reqwest::Method::DELETE,
        "/api/v1/metrics/exports",
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let listed = app.get("viewer", "/api/v1/metrics").await;
    assert!(!listed.text.contains("exports"), "{}", listed.text);
    let again = call(
        "leader",
        reqwest::Method::DELETE,
        "/api/v1/metrics/exports",
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
}
