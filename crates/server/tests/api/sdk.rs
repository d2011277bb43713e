//! A real, unmodified Segment SDK (`segment-analytics-python` from PyPI) sends to the
//! server, and the counts read back are exact. `.ci/run` installs the SDK.

use crate::helpers::{TestApp, ok};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn segments_python_sdk_delivers_events_that_read_back_exactly() {
    let app = TestApp::spawn().await;
    let created = app
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/write-keys",
            Some(json!({"name": "python sdk"})),
        )
        .await;
    let key = created.body["key"].as_str().unwrap_or("").to_owned();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/send_with_segment_sdk.py"
    );
    let base = app.base.clone();
    let output = ok(tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, &base, &key])
            .output()
    })
    .await);
    let output = ok(output);
    assert!(
        output.status.success(),
        "the SDK failed (is segment-analytics-python installed? `pip install segment-analytics-python`)\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let account = app.account("a");
    let usage =
        |event: &str| format!("/api/v1/accounts/{account}/usage?event={event}&interval=month");
    let reports = app.get("admin", &usage("Report%20Run")).await;
    assert_eq!(reports.status, StatusCode::OK);
    let count: u64 = reports.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["count"].as_u64().unwrap_or(0))
        .sum();
    let rows: f64 = reports.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["sums"]["rows"].as_f64().unwrap_or(0.0))
        .sum();
    let users: u64 = reports.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["active_users"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(0);
    assert_eq!(
        (count, rows, users),
        (40, (0..40).sum::<i32>() as f64, 3),
        "{}",
        reports.text
    );
    let pages = app.get("admin", &usage("Page%20Viewed")).await;
    let pages: u64 = pages.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(pages, 10);
    let contacts = app
        .get(
            "admin",
            &format!("/api/v1/contacts?account_id={account}&q=SDK%20User"),
        )
        .await;
    assert_eq!(
        contacts.count(),
        3,
        "identify calls became contacts: {}",
        contacts.text
    );
}
