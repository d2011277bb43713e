//! Pushed, not only pulled: a CSM's daily digest reaches a real SMTP listener and the
//! team's Slack-compatible webhook, and an @mention on a touchpoint emails the person.

use crate::listeners::{SmtpListener, WebhookListener, wait_until};
use crate::util::{Workspace, client, ok};
use std::time::Duration;

const SECRET: &str = "a secret for the digest test";

#[tokio::test]
async fn the_daily_digest_and_mentions_reach_the_csm() {
    let workspace = Workspace::new();
    workspace.expect(
        &[
            "user",
            "create",
            "--email",
            "aoi@cs.example",
            "--name",
            "Aoi Tanaka",
            "--role",
            "csm",
            "--password-stdin",
        ],
        Some("a long enough password"),
        0,
    );
    let renewal = crate::util::utc_day_in(12);
    workspace.import(
        "accounts",
        "accounts.csv",
        &format!(
            "external_id,name,tier,owner_email,renewal_date,mrr,currency\r\nACME,Acme KK,high,aoi@cs.example,{renewal},96000,JPY\r\n"
        ),
    );
    let token = workspace.admin_token();
    let smtp = SmtpListener::start(Duration::ZERO);
    let hooks = WebhookListener::start();
    let env = [
        ("MIKAWAYA_SMTP_URL", smtp.url()),
        ("MIKAWAYA_SECRET", SECRET.to_owned()),
        ("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "1".to_owned()),
        ("MIKAWAYA_DIGEST_WEBHOOK", hooks.url()),
        ("MIKAWAYA_BASE_URL", "https://cs.example.test".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = workspace.serve_with(&env);
    let to_aoi = |subject: &str| {
        smtp.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains("aoi@cs.example")))
            .find(|m| m.header("Subject").is_some_and(|s| s.contains(subject)))
    };
    assert!(
        wait_until(Duration::from_secs(30), || to_aoi("need").is_some()),
        "no digest: {:?}",
        smtp.mails()
    );
    let digest = to_aoi("need").unwrap_or_else(|| panic!("no digest"));
    assert!(
        digest
            .header("Subject")
            .is_some_and(|s| s.starts_with("Today: 1 account needs attention")),
        "{:?}",
        digest.header("Subject")
    );
    let body = digest.body();
    assert!(body.contains("1. Acme KK (¥1,152,000)"), "{body}");
    assert!(
        body.contains("- renewal in 12 days, ARR ¥1,152,000"),
        "{body}"
    );
    assert!(body.contains("https://cs.example.test/accounts/"), "{body}");
    assert!(
        wait_until(Duration::from_secs(30), || !hooks.hooks().is_empty()),
        "no webhook"
    );
    let hook: serde_json::Value = ok(serde_json::from_str(&hooks.hooks()[0].body));
    let text = hook["text"].as_str().unwrap_or("");
    assert!(text.starts_with("*Aoi Tanaka*"), "{text}");
    assert!(text.contains("renewal in 12 days"), "{text}");

    // A touchpoint that mentions @aoi emails her, once.
    let accounts: serde_json::Value = ok(ok(client()
        .get(format!("{}/api/v1/accounts", server.base))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    let id = accounts["data"][0]["id"].as_i64().unwrap_or(0);
    let created = ok(client()
        .post(format!("{}/api/v1/touchpoints", server.base))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"account_id": id, "kind": "call", "occurred_at": "2026-01-05",
            "summary": "Budget approved; @aoi please send the quote"}),
        )
        .send()
        .await);
    assert_eq!(created.status().as_u16(), 201);
    assert!(
        wait_until(Duration::from_secs(30), || to_aoi("mentioned you")
            .is_some()),
        "no mention: {:?}",
        smtp.mails()
            .iter()
            .map(|m| m.header("Subject"))
            .collect::<Vec<_>>()
    );
    let mention = to_aoi("mentioned you").unwrap_or_else(|| panic!("no mention"));
    assert!(mention.body().contains("@aoi please send the quote"));
    // The digest went once, whatever the restarts.
    drop(server);
    let _server = workspace.serve_with(&env);
    std::thread::sleep(Duration::from_secs(2));
    let digests = smtp
        .mails()
        .iter()
        .filter(|m| m.header("Subject").is_some_and(|s| s.contains("need")))
        .count();
    assert_eq!(digests, 1);
}
