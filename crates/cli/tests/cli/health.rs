//! One account, one health: with a segment scorecard in force, the Customer 360 page, the
//! API, Today (page, API and `mikawaya today`), the portfolio and `mikawaya health` show
//! the same score, colour and scorecard.

use crate::util::{Workspace, client, ok, stdout};
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.test";
const PASSWORD: &str = "a long enough password";

/// Logins on each of the last `count` days before today (UTC), for account `account`.
fn logins(account: &str, count: i64) -> String {
    let today = jiff::Timestamp::now();
    (1..=count)
        .map(|back| {
            let at = today - jiff::SignedDuration::from_hours(24 * back);
            format!(
                "{account},u-{account},Login,{}\n",
                at.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        })
        .collect()
}

/// The health score shown on the Customer 360 page: "NN · Colour".
fn page_badge(html: &str) -> Option<String> {
    let start = html.find("data-testid=\"health-score\"")?;
    let badge = &html[start..];
    let open = badge.find("class=\"badge")?;
    let text_start = badge[open..].find('>')? + open + 1;
    let text_end = badge[text_start..].find('<')? + text_start;
    Some(badge[text_start..text_end].to_owned())
}

#[tokio::test]
async fn one_account_has_the_same_health_on_the_page_the_api_and_the_cli() {
    let workspace = Workspace::new();
    workspace.admin_user(ADMIN, PASSWORD);
    // BIG renews in 20 days and is the admin's: it is in their Today.
    let renewal = crate::util::utc_day_in(20);
    workspace.import(
        "accounts",
        "accounts.csv",
        &format!(
            "external_id,name,tier,owner_email,renewal_date\nBIG,Big Co,high,{ADMIN},{renewal}\nSMALL,Small Co,tech,,\n"
        ),
    );
    // BIG: 7 logins in the window; SMALL: 2.
    let events = format!(
        "account_id,user_id,event,timestamp\n{}{}",
        logins("BIG", 7),
        logins("SMALL", 2)
    );
    let file = workspace.path("events.csv");
    ok(std::fs::write(&file, events));
    workspace.expect(&["import", "events", &file.to_string_lossy()], None, 0);
    let token = workspace.admin_token();
    let http = client();

    // High-touch accounts are scored by "enterprise": logins, 0 at 0 and 100 at 10.
    let card = json!({"segments": [{"segment": {"field": "tier", "value": "high"},
        "scorecard": {"name": "enterprise", "measures": [{"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 1, "red": 0, "green": 10}]}}]});
    {
        let server = workspace.serve();
        let reply = ok(http
            .put(format!("{}/api/v1/scorecards/segments", server.base))
            .bearer_auth(&token)
            .json(&card)
            .send()
            .await);
        assert!(reply.status().is_success(), "{:?}", reply.text().await);
    }

    // The CLI, with the server stopped (the event log is the server's while it runs).
    let cli = workspace.expect(&["health", "--json"], None, 0);
    let rows: Vec<Value> = ok(serde_json::from_str(&stdout(&cli)));
    let cli_row = rows
        .iter()
        .find(|r| r["account_external_id"] == "BIG")
        .cloned()
        .unwrap_or_else(|| panic!("no BIG in {rows:?}"));
    assert_eq!(cli_row["card"], "enterprise", "{cli_row}");
    // 7 logins of 10 → 70: green.
    assert_eq!(cli_row["score"].as_f64(), Some(70.0), "{cli_row}");
    assert_eq!(cli_row["shown"].as_i64(), Some(70));
    assert_eq!(cli_row["colour"], "green");
    let small = rows
        .iter()
        .find(|r| r["account_external_id"] == "SMALL")
        .cloned()
        .unwrap_or_default();
    assert_eq!(small["card"], "default", "{small}");
    let id = cli_row["account_id"].as_i64().unwrap_or(0);

    // The API and the page, on a server that may meanwhile have stored today's snapshot.
    let server = workspace.serve();
    let api: Value = crate::util::get_json(
        &http,
        &server.base,
        &format!("/api/v1/accounts/{id}/health"),
        &token,
    )
    .await;
    assert_eq!(api["now"]["card"], "enterprise", "{api}");
    assert_eq!(api["now"]["score"], cli_row["score"], "{api}");
    assert_eq!(api["now"]["shown"], cli_row["shown"], "{api}");
    assert_eq!(api["now"]["colour"], cli_row["colour"], "{api}");
    assert_eq!(api["now"]["measures"][0]["value"].as_f64(), Some(7.0));

    let session = ok(http
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await);
    let cookie = session
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned();
    let page = ok(ok(http
        .get(format!("{}/accounts/{id}", server.base))
        .header("cookie", &cookie)
        .header("accept-language", "en")
        .send()
        .await)
    .text()
    .await);
    assert_eq!(page_badge(&page).as_deref(), Some("70 · Green"), "{page}");

    // The signals lists sort by are refreshed in the background when cards are saved;
    // once they are, the portfolio, Today (API and page) and the CLI agree.
    // (At most 90 s: the refresh shares two cores with the other tests, and took over 30 s
    // once in CI.)
    let mut signals = Value::Null;
    for _ in 0..900 {
        let account: Value = crate::util::get_json(
            &http,
            &server.base,
            &format!("/api/v1/accounts/{id}"),
            &token,
        )
        .await;
        signals = account["signals"].clone();
        if signals["health"] == cli_row["shown"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(signals["health"], cli_row["shown"], "{signals}");
    assert_eq!(signals["health_colour"], "green", "{signals}");
    let sorted: Value = ok(ok(http
        .get(format!(
            "{}/api/v1/accounts?sort=-health&health=green",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    assert_eq!(sorted["data"][0]["id"].as_i64(), Some(id), "{sorted}");
    let today: Value =
        crate::util::get_json(&http, &server.base, "/api/v1/today?lang=en", &token).await;
    // The admin token has no user: Today needs an owner.
    assert_eq!(today["error"]["field"], "owner_id", "{today}");
    let admin_id = {
        let users: Value =
            crate::util::get_json(&http, &server.base, "/api/v1/users", &token).await;
        users
            .as_array()
            .and_then(|u| u.iter().find(|u| u["email"] == ADMIN))
            .and_then(|u| u["id"].as_i64())
            .unwrap_or(0)
    };
    let today: Value = ok(ok(http
        .get(format!(
            "{}/api/v1/today?lang=en&owner_id={admin_id}",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    let item = today["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["account"]["id"].as_i64() == Some(id))
        })
        .cloned()
        .unwrap_or_else(|| panic!("BIG is not in Today: {today}"));
    assert_eq!(
        item["account"]["signals"]["health"], cli_row["shown"],
        "{item}"
    );
    assert_eq!(item["reasons"][0]["code"], "renewal", "{item}");
    assert_eq!(
        item["reasons"][0]["text"], "renewal in 20 days, ARR $0.00",
        "{item}"
    );
    let today_page = ok(ok(http
        .get(format!("{}/today", server.base))
        .header("cookie", &cookie)
        .header("accept-language", "en")
        .send()
        .await)
    .text()
    .await);
    assert!(today_page.contains("70 · Green"), "{today_page}");
    assert!(today_page.contains("renewal in 20 days"), "{today_page}");
    drop(server);
    let cli_today = workspace.expect(&["today", "--owner", ADMIN, "--json"], None, 0);
    let cli_today: Value = ok(serde_json::from_str(&stdout(&cli_today)));
    assert_eq!(
        cli_today["items"][0]["account_id"].as_i64(),
        Some(id),
        "{cli_today}"
    );
    assert_eq!(
        cli_today["items"][0]["health"], cli_row["shown"],
        "{cli_today}"
    );
    assert_eq!(cli_today["items"][0]["colour"], "green", "{cli_today}");
    let refused = workspace.expect(&["today", "--owner", "nobody@example.test"], None, 2);
    assert!(crate::util::stderr(&refused).contains("--owner"));
    let server = workspace.serve();

    // An account that does not exist (or that the caller cannot see) has no health: 404.
    let missing = ok(http
        .get(format!("{}/api/v1/accounts/999999/health", server.base))
        .bearer_auth(&token)
        .send()
        .await);
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn the_business_time_zone_given_once_is_the_data_dirs_from_then_on() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nJP-1,Tokyo Co\n",
    );
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let events = workspace.path("events.csv");
    ok(std::fs::write(
        &events,
        format!("account_id,user_id,event,timestamp\nJP-1,u1,Login,{now}\n"),
    ));
    workspace.expect(&["import", "events", &events.to_string_lossy()], None, 0);
    // Given once, to any command that counts days…
    workspace.expect(&["health", "--time-zone", "Asia/Tokyo", "--json"], None, 0);
    let refused = workspace.expect(&["health", "--time-zone", "Mars/Olympus"], None, 2);
    assert!(crate::util::stderr(&refused).contains("--time-zone"));
    // …then the server, started without it, counts days in it.
    workspace.admin_user(ADMIN, PASSWORD);
    let token = workspace.admin_token();
    let server = workspace.serve();
    let http = client();
    let usage: Value =
        crate::util::get_json(&http, &server.base, "/api/v1/accounts/1/usage", &token).await;
    assert_eq!(usage["time_zone"], "Asia/Tokyo", "{usage}");
    // The event of just now is counted on today's date in Tokyo, within the default range
    // that ends on Tokyo's today.
    let tokyo_today = jiff::Timestamp::now()
        .to_zoned(ok(jiff::tz::TimeZone::get("Asia/Tokyo")))
        .date()
        .to_string();
    let last_day = usage["data"]
        .as_array()
        .and_then(|days| days.last())
        .map(|day| day["period"].clone());
    assert_eq!(
        last_day.as_ref().and_then(Value::as_str),
        Some(tokyo_today.as_str()),
        "{usage}"
    );
}
