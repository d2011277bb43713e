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
