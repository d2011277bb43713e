//! The voice of the customer over HTTP: scores from the answers a caller can see, bad
//! parameters named.

use crate::helpers::{TestApp, ok};
use mikawaya_domain::Actor;
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{NewSurveyResponse, SurveyKind};
use reqwest::StatusCode;

#[tokio::test]
async fn scores_count_only_what_the_caller_sees_and_bad_parameters_are_named() {
    let app = TestApp::spawn().await;
    let accounts: std::collections::HashMap<&str, i64> = ["a", "b", "direct"]
        .into_iter()
        .map(|key| (key, app.account(key)))
        .collect();
    app.with_store(move |store| {
        let write = ok(Actor::system().write());
        let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
        for (key, score, comment) in [
            ("a", 10, Some("Love it")),
            ("b", 2, Some("Too slow")),
            ("direct", 8, None),
        ] {
            ok(store.add_survey_response(
                &write,
                NewSurveyResponse {
                    account_id: mikawaya_domain::AccountId::new(accounts[key]),
                    contact_id: None,
                    kind: SurveyKind::Nps,
                    score,
                    comment: comment.map(|c| ok(Text::parse(c))),
                    answered_at: yesterday,
                },
            ));
        }
    })
    .await;
    // Everyone: 10, 2, 8 → 1 promoter, 1 detractor of 3: 0.
    let all = app.get("leader", "/api/v1/voice").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["answers"], 3);
    assert_eq!(all.body["overall"]["nps"], 0.0);
    assert_eq!(
        all.body["friction_accounts"][0]["account_id"],
        app.account("b")
    );
    // Partner A sees its own account's answer only: NPS 100, one delight.
    let partner = app.get("partner", "/api/v1/voice").await;
    assert_eq!(partner.body["answers"], 1, "{}", partner.text);
    assert_eq!(partner.body["overall"]["nps"], 100.0);
    assert_eq!(partner.body["verbatims"][0]["experience"], "delight");
    assert_eq!(partner.body["friction_accounts"], serde_json::json!([]));
    for (query, field) in [
        ("by=industry", "by"),
        ("from=2026-02-30", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
    ] {
        let reply = app.get("leader", &format!("/api/v1/voice?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
}
