//! Lists: cursor pagination that never repeats or skips a row, filters and sort.

use crate::helpers::{TestApp, ok};
use mikawaya_domain::Actor;
use mikawaya_domain::account::NewAccount;
use mikawaya_domain::value::{Money, Name};
use reqwest::StatusCode;
use std::collections::BTreeSet;

#[tokio::test]
async fn walking_the_pages_visits_every_account_once_in_order() {
    let app = TestApp::spawn().await;
    app.with_store(|store| {
        let write = ok(Actor::system().write());
        for index in 0..57 {
            let mut account = NewAccount::named(ok(Name::parse(&format!("Paged {index:02}"))));
            account.mrr = ok(Money::new(f64::from(index % 5) * 10.0));
            ok(store.create_account(&write, account));
        }
    })
    .await;
    for sort in ["name", "-mrr", "renewal_date", "-created_at", "updated_at"] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let reply = app
                .get(
                    "csm",
                    &format!("/api/v1/accounts?limit=7&sort={sort}&cursor={cursor}"),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            seen.extend(
                reply.body["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|row| (row["id"].as_i64(), row["mrr"].as_f64(), row["name"].clone())),
            );
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let ids: BTreeSet<_> = seen.iter().map(|(id, _, _)| *id).collect();
        assert_eq!((seen.len(), ids.len()), (60, 60), "{sort}: every row once");
        if sort == "-mrr" {
            assert!(
                seen.windows(2).all(|pair| pair[0].1 >= pair[1].1),
                "descending by MRR"
            );
        }
        if sort == "name" {
            let names: Vec<String> = seen
                .iter()
                .map(|(_, _, name)| name.as_str().unwrap_or("").to_owned())
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
        }
    }
    let cursor = app
        .get("csm", "/api/v1/accounts?limit=2&sort=name")
        .await
        .body["next_cursor"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mismatched = app
        .get(
            "csm",
            &format!("/api/v1/accounts?limit=2&sort=-mrr&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        mismatched.body["error"]["field"], "cursor",
        "a cursor is tied to its sort"
    );
}

#[tokio::test]
async fn filters_combine() {
    let app = TestApp::spawn().await;
    let patch = |id: i64, body: serde_json::Value| {
        let request = app
            .client
            .patch(format!("{}/api/v1/accounts/{id}", app.base))
            .bearer_auth(&app.tokens["admin"])
            .json(&body);
        app.send(request)
    };
    patch(
        app.account("a"),
        serde_json::json!({"tier": "high", "renewal_date": "2026-03-01", "stage": "renewal"}),
    )
    .await;
    patch(
        app.account("b"),
        serde_json::json!({"tier": "high", "renewal_date": "2026-09-01"}),
    )
    .await;
    patch(
        app.account("direct"),
        serde_json::json!({"tier": "tech", "renewal_date": "2026-03-15"}),
    )
    .await;
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    for (query, expected) in [
        ("tier=high", vec!["Account a", "Account b"]),
        ("tier=high&renewal_to=2026-06-30", vec!["Account a"]),
        (
            "renewal_from=2026-03-01&renewal_to=2026-03-31&sort=renewal_date",
            vec!["Account a", "Account direct"],
        ),
        ("mrr_min=150", vec!["Account b", "Account direct"]),
        ("mrr_min=150&mrr_max=250", vec!["Account b"]),
        ("stage=renewal", vec!["Account a"]),
        ("q=DIRECT", vec!["Account direct"]),
        ("q=100%25", vec![]),
    ] {
        let reply = app
            .get("viewer", &format!("/api/v1/accounts?{query}"))
            .await;
        assert_eq!(names(&reply), expected, "{query}");
    }
    let partner_filter = app
        .get(
            "admin",
            &format!("/api/v1/accounts?partner_id={}", app.seed.partner_b.get()),
        )
        .await;
    assert_eq!(names(&partner_filter), vec!["Account b"]);
}
