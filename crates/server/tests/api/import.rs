//! CSV import over HTTP: all or nothing, with every bad row named; Shift_JIS; idempotent.

use crate::helpers::TestApp;
use reqwest::StatusCode;

async fn import(app: &TestApp, kind: &str, query: &str, body: Vec<u8>) -> crate::helpers::Reply {
    let request = app
        .client
        .post(format!("{}/api/v1/import/{kind}{query}", app.base))
        .bearer_auth(&app.tokens["admin"])
        .header("content-type", "text/csv")
        .body(body);
    app.send(request).await
}

#[tokio::test]
async fn one_bad_row_imports_nothing_and_names_line_and_column() {
    let app = TestApp::spawn().await;
    let mut csv = String::from("external_id,name,mrr,renewal_date,owner_email\n");
    for index in 0..50 {
        csv.push_str(&format!(
            "IMP-{index},Imported {index},{index}00,2026-01-01,csm@team.example\n"
        ));
    }
    csv.push_str("IMP-bad,Broken,12O0,2026-01-01,\n");
    csv.push_str("IMP-owner,Orphan,5,2026-01-01,nobody@team.example\n");
    let reply = import(&app, "accounts", "", csv.into_bytes()).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let rows = reply.body["error"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        rows.len(),
        1,
        "the value error stops the file before references are resolved: {rows:?}"
    );
    assert_eq!(
        (rows[0]["line"].as_u64(), rows[0]["column"].as_str()),
        (Some(52), Some("mrr"))
    );
    assert_eq!(
        app.get("admin", "/api/v1/accounts?q=Imported")
            .await
            .count(),
        0
    );
    let references =
        "external_id,name,owner_email\nIMP-1,One,csm@team.example\nIMP-2,Two,nobody@team.example\n";
    let reply = import(&app, "accounts", "", references.as_bytes().to_vec()).await;
    assert_eq!(reply.body["error"]["rows"][0]["line"], 3);
    assert_eq!(reply.body["error"]["rows"][0]["column"], "owner_email");
    assert_eq!(
        app.get("admin", "/api/v1/accounts?q=IMP").await.count(),
        0,
        "reference errors roll back too"
    );
}

#[tokio::test]
async fn a_shift_jis_crm_export_with_japanese_headers_imports() {
    let app = TestApp::spawn().await;
    let text = "取引先ID,会社名,月額,契約更新日,ステージ,担当者\r\nJP-1,株式会社三河屋,\"120,000\",2026/04/01,onboarding,csm@team.example\r\nJP-2,さくら商事株式会社,\"80,000\",2026/05/01,value,\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let reply = import(&app, "accounts", "", bytes.into_owned()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["encoding"], "shift_jis");
    assert_eq!(reply.body["created"], 2);
    let found = app.get("admin", "/api/v1/accounts?external_id=JP-1").await;
    assert_eq!(found.body["data"][0]["name"], "株式会社三河屋");
    assert_eq!(found.body["data"][0]["mrr"], 120000.0);
    assert_eq!(found.body["data"][0]["renewal_date"], "2026-04-01");
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let accounts =
        "\u{feff}Account ID,Company Name,Parent,MRR\nH-2,Child Co,H-1,10\nH-1,Parent Co,,20\n"
            .as_bytes()
            .to_vec();
    let query = "?map=Parent=parent_external_id";
    let first = import(&app, "accounts", query, accounts.clone()).await;
    assert_eq!(
        (first.status, first.body["created"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{}",
        first.text
    );
    let second = import(&app, "accounts", query, accounts).await;
    assert_eq!(
        (
            second.body["created"].as_u64(),
            second.body["updated"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let parent = app
        .get("admin", "/api/v1/accounts?external_id=H-1")
        .await
        .body["data"][0]["id"]
        .as_i64();
    let child = app.get("admin", "/api/v1/accounts?external_id=H-2").await;
    assert_eq!(
        child.body["data"][0]["parent_id"].as_i64(),
        parent,
        "a child may come before its parent"
    );
    let subscriptions = "external_id,account_external_id,plan,quantity,mrr,start_date,end_date\nS-1,H-1,pro,2,20,2025-01-01,2026-01-01\nS-2,H-1,pro,3,30,2026-01-01,\n";
    for _ in 0..2 {
        let reply = import(&app, "subscriptions", "", subscriptions.as_bytes().to_vec()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let parent_id = parent.unwrap_or_default();
    let rows = app
        .get(
            "admin",
            &format!("/api/v1/subscriptions?account_id={parent_id}"),
        )
        .await;
    assert_eq!(rows.count(), 2);
    let active = app
        .get(
            "admin",
            &format!("/api/v1/subscriptions?account_id={parent_id}&active_on=2026-01-01"),
        )
        .await;
    assert_eq!(
        active.body["data"][0]["external_id"], "S-2",
        "terms are half-open"
    );
    let touchpoints = "account_external_id,kind,occurred_at,user_email,summary\nH-1,meeting,2026-02-01T10:00:00+09:00,csm@team.example,キックオフ\n";
    for _ in 0..2 {
        assert_eq!(
            import(&app, "touchpoints", "", touchpoints.as_bytes().to_vec())
                .await
                .status,
            StatusCode::OK
        );
    }
    let listed = app
        .get(
            "admin",
            &format!("/api/v1/touchpoints?account_id={parent_id}"),
        )
        .await;
    assert_eq!(listed.count(), 1);
    assert_eq!(
        listed.body["data"][0]["occurred_at"],
        "2026-02-01T01:00:00Z"
    );
}

#[tokio::test]
async fn header_problems_are_reported_before_any_row() {
    let app = TestApp::spawn().await;
    let missing = import(
        &app,
        "subscriptions",
        "",
        b"account_external_id,plan\nA,pro\n".to_vec(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("mrr")
    );
    let bad_kind = import(&app, "widgets", "", b"a\n".to_vec()).await;
    assert_eq!(bad_kind.body["error"]["field"], "kind");
    let bad_map = import(
        &app,
        "accounts",
        "?map=nonsense",
        b"external_id\nA\n".to_vec(),
    )
    .await;
    assert_eq!(bad_map.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn mappings_translate_values_are_saved_by_leaders_and_reused() {
    let app = TestApp::spawn().await;
    let csv = "customerID,Partner,Contract,MonthlyCharges\r\nT-1,Yes,プロ,\"￥７０，０００\"\r\n";
    let query = "?map=customerID%3Dexternal_id&map=customerID%3Dname&map_values=Partner%3AYes%3D\
                 &map=Contract%3Dplan&map=MonthlyCharges%3Dmrr&save_mapping=crm";
    // Saving a mapping is the managers' (a CSM may import, not save): nothing is written.
    let request = app
        .client
        .post(format!("{}/api/v1/import/accounts{query}", app.base))
        .bearer_auth(&app.tokens["csm"])
        .header("content-type", "text/csv")
        .body(csv.as_bytes().to_vec());
    let refused = app.send(request).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(app.get("admin", "/api/v1/accounts?q=T-1").await.count(), 0);

    let reply = import(&app, "accounts", query, csv.as_bytes().to_vec()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["created"], 1);
    let listed = app.get("admin", "/api/v1/accounts?q=T-1").await;
    let account = &listed.body["data"][0];
    assert_eq!(account["name"], "T-1", "{}", listed.text);
    assert_eq!(account["currency"], "JPY", "the ￥ names it");
    assert_eq!(account["mrr"], 70000.0);
    assert_eq!(account["plan"], "plan-1", "プロ gets a slug");
    assert!(
        account["partner_id"].is_null(),
        "Yes translated to no partner"
    );

    let saved = app.get("admin", "/api/v1/import/mappings").await;
    assert_eq!(saved.body[0]["name"], "crm", "{}", saved.text);
    assert_eq!(saved.body[0]["values"][0], "Partner:Yes=");
    // Reused by name, with a value translation on top.
    let next = "customerID,Partner,Contract,MonthlyCharges\nT-2,Yes,Pro,100\n";
    let reply = import(
        &app,
        "accounts",
        "?mapping=crm&currency=EUR",
        next.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let listed = app.get("admin", "/api/v1/accounts?q=T-2").await;
    assert_eq!(listed.body["data"][0]["currency"], "EUR");
    // Unknown names and bad parts are named.
    let unknown = import(&app, "accounts", "?mapping=nope", next.as_bytes().to_vec()).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert_eq!(
        unknown.body["error"]["field"], "mapping",
        "{}",
        unknown.text
    );
    let bad = import(
        &app,
        "accounts",
        "?map_values=Partner",
        next.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(bad.status.as_u16() / 100, 4, "{}", bad.text);
    assert!(bad.text.contains("COLUMN:FROM=TO"), "{}", bad.text);
}
