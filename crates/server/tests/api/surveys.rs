//! Hosted surveys over HTTP: an in-product link opens the public page, an answer is recorded
//! (its comment a feedback item) and changed within the window; a forged link is "not
//! found"; an unsubscribed contact is never surveyed; nobody is surveyed twice within the
//! rest period; bad input named.

use crate::helpers::{TestApp, ok};
use mikawaya_domain::Actor;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_link_opens_the_survey_answers_are_kept_once_and_rest_and_unsubscribes_hold() {
    let app = TestApp::spawn().await;
    let contact_a = app.seed.children[&("contacts", "a")];
    let contact_b = app.seed.children[&("contacts", "b")];
    let list = app.get("csm", "/api/v1/surveys").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body.as_array().map(Vec::len), Some(3));

    // Bad input: named, nothing sent.
    for (path, body, field) in [
        (
            "/api/v1/surveys/nps/sends",
            json!({"contact_ids": []}),
            "contact_ids",
        ),
        (
            "/api/v1/surveys/nps/sends",
            json!({"contact_ids": [contact_a], "channel": "pigeon"}),
            "channel",
        ),
        (
            "/api/v1/surveys/nope/sends",
            json!({"contact_ids": [contact_a]}),
            "survey",
        ),
        (
            "/api/v1/surveys/nps/sends",
            json!({"contact_ids": [999_999]}),
            "contact_ids",
        ),
    ] {
        let reply = app.call(Some("csm"), Method::POST, path, Some(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    let bad_def = app.call(Some("leader"), Method::PUT, "/api/v1/surveys/pulse",
        Some(json!({"name": "pulse", "kind": "csat", "title": {"en": "T"}, "question": {"en": "Q"}, "expires_days": 0}))).await;
    assert_eq!(
        bad_def.body["error"]["field"], "expires_days",
        "{}",
        bad_def.text
    );

    // An in-product link for contact A.
    let sent = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/surveys/nps/sends",
            Some(json!({"contact_ids": [contact_a], "channel": "in_app"})),
        )
        .await;
    assert_eq!(sent.body[0]["outcome"], "sent", "{}", sent.text);
    let url = sent.body[0]["url"].as_str().unwrap_or_default().to_owned();
    let path = url.trim_start_matches("http://127.0.0.1:8080").to_owned();
    assert!(path.starts_with("/s/sv_"), "{url}");
    let page = app
        .send(app.client.get(format!("{}{path}", app.base)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("How likely are you to recommend us"),
        "{}",
        page.text
    );
    // Forged and truncated links: the page an unknown address gets.
    for wrong in ["/s/sv_0000", "/s/anything", &path[..path.len() - 1]] {
        let reply = app
            .send(app.client.get(format!("{}{wrong}", app.base)))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{wrong}");
        assert!(!reply.text.contains("Account a"), "{wrong}");
    }
    // A score out of range is named; nothing stored.
    let form = |score: &str, comment: &str| {
        app.client
            .post(format!("{}{path}", app.base))
            .form(&[("score", score), ("comment", comment)])
    };
    let bad = app.send(form("11", "x")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let read = Actor::system().read();
    let responses = move |store: &dyn mikawaya_store::Store| {
        ok(store.survey_responses(&read, None, jiff::Timestamp::UNIX_EPOCH))
    };
    assert!(app.with_store(responses).await.is_empty());
    // Answered with a comment, then changed within the window: one answer, one item.
    let first = app.send(form("4", "The export is broken and slow")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = app.send(form("５", "Exports are still slow")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let answers = app.with_store(responses).await;
    assert_eq!(answers.iter().map(|a| a.score).collect::<Vec<_>>(), vec![5]);
    let items = app.get("leader", "/api/v1/feedback").await;
    assert_eq!(
        items.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        items.text
    );
    assert_eq!(items.body[0]["text"], "Exports are still slow");
    assert_eq!(items.body[0]["source"], "survey");
    assert_eq!(items.body[0]["experience"], "friction");
    let voice = app.get("leader", "/api/v1/voice").await;
    assert_eq!(voice.body["answers"], 1, "{}", voice.text);

    // Contact A rests 90 days; contact B unsubscribed is never surveyed.
    ok(app
        .with_store(|store| {
            store.unsubscribe(&ok(Actor::system().write()), "contact.b@customer.example")
        })
        .await);
    let again = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/surveys/nps/sends",
            Some(json!({"contact_ids": [contact_a, contact_b]})),
        )
        .await;
    let outcomes: Vec<&str> = again
        .body
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes, vec!["resting", "unsubscribed"], "{}", again.text);
    let messages = ok(app
        .with_store(|store| store.list_messages(&ok(Actor::system().admin()), None))
        .await);
    assert!(
        messages
            .iter()
            .all(|m| !m.recipient.starts_with("contact.b")),
        "{messages:?}"
    );
    // The partner sees rates of its own accounts only.
    let rates = app.get("partner", "/api/v1/surveys/rates").await;
    assert_eq!(rates.body["by_survey"]["nps"]["sent"], 1, "{}", rates.text);
    let rates_b = app.get("viewer", "/api/v1/surveys/rates").await;
    assert_eq!(
        rates_b.body["by_survey"]["nps"]["answered"], 1,
        "{}",
        rates_b.text
    );
}
