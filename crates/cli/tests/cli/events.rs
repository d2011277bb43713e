//! Usage events end to end with the binary: write keys, a crash while clients send,
//! bulk import, rebuild and Parquet export.

use crate::util::{Workspace, client, ok, stderr, stdout, stored_ids};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn last_line(output: &std::process::Output) -> String {
    stdout(output).lines().last().unwrap_or("").to_owned()
}

async fn account_id(base: &str, token: &str, external_id: &str) -> i64 {
    let page: serde_json::Value = ok(ok(client()
        .get(format!("{base}/api/v1/accounts?external_id={external_id}"))
        .bearer_auth(token)
        .send()
        .await)
    .json()
    .await);
    page["data"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no account {external_id}: {page}"))
}

fn batch(client_number: usize, batch_number: usize) -> (Vec<String>, serde_json::Value) {
    let ids: Vec<String> = (0..100)
        .map(|n| format!("c{client_number}-b{batch_number}-m{n}"))
        .collect();
    let messages: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"type": "track", "messageId": id, "userId": format!("user-{client_number}"), "event": "Crash Test"}))
        .collect();
    (
        ids,
        serde_json::json!({"batch": messages, "context": {"groupId": "CRASH-1"}}),
    )
}

#[tokio::test]
async fn every_acknowledged_message_survives_a_kill_exactly_once() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nCRASH-1,Crash Co\n",
    );
    let key =
        last_line(&workspace.expect(&["writekey", "create", "--name", "crash clients"], None, 0));
    let token = last_line(&workspace.expect(
        &["token", "create", "--name", "reader", "--scope", "read"],
        None,
        0,
    ));
    let mut server = workspace.serve();
    let base = server.base.clone();
    let mut senders = Vec::new();
    for client_number in 0..4 {
        let (base, key) = (base.clone(), key.clone());
        senders.push(tokio::spawn(async move {
            let http = client();
            let mut acknowledged = Vec::new();
            for batch_number in 0..10_000 {
                let (ids, body) = batch(client_number, batch_number);
                match http
                    .post(format!("{base}/v1/batch"))
                    .basic_auth(&key, Some(""))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(reply) if reply.status() == 200 => acknowledged.extend(ids),
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ok(server.child.kill());
    ok(server.child.wait());
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(ok(sender.await));
    }
    assert!(
        acknowledged.len() >= 400,
        "the clients got only {} acknowledgements before the kill",
        acknowledged.len()
    );

    let server = workspace.serve();
    let account = account_id(&server.base, &token, "CRASH-1").await;
    let stored = stored_ids(&server.base, &token, account).await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &stored {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "stored more than once: {:?}",
        repeated.iter().take(5).collect::<Vec<_>>()
    );
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !counts.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    eprintln!(
        "acknowledged {}, stored {} (the rest were in flight when killed)",
        acknowledged.len(),
        stored.len()
    );

    // Clients retry what they sent; nothing is stored twice.
    let (ids, body) = batch(0, 0);
    let reply = ok(client()
        .post(format!("{}/v1/batch", server.base))
        .basic_auth(&key, Some(""))
        .json(&body)
        .send()
        .await);
    assert_eq!(reply.status(), 200);
    assert!(
        acknowledged.contains(&ids[0]),
        "the first batch was acknowledged before the kill"
    );
    let again = stored_ids(&server.base, &token, account).await;
    assert_eq!(
        again.len(),
        stored.len(),
        "a retried batch is not stored again"
    );
    assert_eq!(again.iter().collect::<HashSet<_>>().len(), again.len());
}

#[test]
fn event_files_import_all_or_nothing_and_export_as_parquet() {
    let workspace = Workspace::new();
    let good = workspace.path("events.ndjson");
    let lines: Vec<String> = (0..250)
        .map(|n| {
            serde_json::json!({"type": "track", "userId": format!("u{}", n % 7), "event": if n % 2 == 0 { "Login" } else { "Report Run" },
                "properties": {"rows": n}, "context": {"groupId": "ACC-9"}, "timestamp": format!("2026-03-{:02}T10:00:00Z", 1 + n % 28)})
            .to_string()
        })
        .collect();
    let bad = workspace.path("bad.ndjson");
    ok(std::fs::write(
        &bad,
        format!(
            "{}\n{{\"type\":\"track\",\"event\":\"E\"}}\nnot json\n",
            lines[0]
        ),
    ));
    let refused = workspace.expect(&["import", "events", &bad.to_string_lossy()], None, 2);
    let errors = stderr(&refused);
    assert!(
        errors.contains("bad.ndjson:2: userId:") && errors.contains("bad.ndjson:3:"),
        "{errors}"
    );
    ok(std::fs::write(&good, lines.join("\n") + "\n"));
    let first = workspace.expect(&["import", "events", &good.to_string_lossy()], None, 0);
    assert!(
        stdout(&first).contains("imported 250 events") && stdout(&first).contains("250 new"),
        "{}",
        stdout(&first)
    );
    let second = workspace.expect(&["import", "events", &good.to_string_lossy()], None, 0);
    assert!(
        stdout(&second).contains("0 new, 250 already there"),
        "nothing twice: {}",
        stdout(&second)
    );
    workspace.import("events", "events.csv", "account_id,user_id,event,timestamp,rows\nACC-9,u1,Export,2026-03-02T09:00:00Z,12\nACC-9,u2,Export,2026-03-02T09:05:00Z,\n");
    let rebuilt = workspace.expect(&["events", "rebuild", "--time-zone", "Asia/Tokyo"], None, 0);
    assert!(
        stdout(&rebuilt).contains("from 252 events (3 event names"),
        "{}",
        stdout(&rebuilt)
    );
    let out = workspace.path("export");
    let exported = workspace.expect(
        &[
            "events",
            "export",
            "--format",
            "parquet",
            &out.to_string_lossy(),
        ],
        None,
        0,
    );
    assert!(stdout(&exported).contains("wrote 252 events"));
    let file = ok(std::fs::File::open(out.join("events.parquet")));
    let reader = ok(parquet::file::reader::SerializedFileReader::new(file));
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 252);
    workspace.expect(
        &["events", "rebuild", "--time-zone", "Mars/Olympus"],
        None,
        2,
    );
}

#[tokio::test]
async fn beside_a_running_server_the_cli_reads_the_log_as_it_stands_and_writes_nothing() {
    // Days before today (UTC): the server takes live events up to 30 days old.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let day = |back: i64| ok(today.checked_sub(jiff::Span::new().days(back))).to_string();
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nSIDE-1,Side Co\n",
    );
    workspace.import(
        "events",
        "events.csv",
        &format!(
            "account_id,user_id,event,timestamp\nSIDE-1,u1,Login,{}T09:00:00Z\nSIDE-1,u1,Login,{}T09:00:00Z\n",
            day(3),
            day(2)
        ),
    );
    workspace.expect(
        &[
            "metrics", "define", "--name", "logins", "--kind", "count", "--event", "Login",
        ],
        None,
        0,
    );
    let key = last_line(&workspace.expect(&["writekey", "create", "--name", "side"], None, 0));
    let server = workspace.serve();
    // The server takes a third login; the CLI, beside it, reads all three.
    let body = serde_json::json!({"batch": [{"type": "track", "userId": "u1", "event": "Login",
        "messageId": "side-3", "timestamp": format!("{}T09:00:00Z", day(1)),
        "context": {"groupId": "SIDE-1"}}]});
    let reply = ok(client()
        .post(format!("{}/v1/batch", server.base))
        .basic_auth(&key, Some(""))
        .json(&body)
        .send()
        .await);
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
    let today = today.to_string();
    let table_args = [
        "metrics", "table", "--names", "logins", "--from", &today, "--to", &today,
    ];
    let table = workspace.expect(&table_args, None, 0);
    assert!(
        stderr(&table).contains("the server is running"),
        "{}",
        stderr(&table)
    );
    assert!(
        stdout(&table).contains(&format!("SIDE-1,{today},3")),
        "{}",
        stdout(&table)
    );
    // Writing the log stays the server's: an import is refused, saying what to do.
    let file = workspace.path("e.ndjson");
    ok(std::fs::write(
        &file,
        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\"}\n",
    ));
    let refused = workspace.expect(&["import", "events", &file.to_string_lossy()], None, 2);
    assert!(
        stderr(&refused).contains("in use by another mikawaya process"),
        "{}",
        stderr(&refused)
    );
    // In Japanese too.
    let mut command = workspace.command();
    command.env("MIKAWAYA_LOCALE", "ja").args([
        "metrics",
        "table",
        "--names",
        "logins",
        "--from",
        "2026-03-05",
        "--to",
        "2026-03-05",
    ]);
    let japanese = ok(command.output());
    assert_eq!(japanese.status.code(), Some(0));
    assert!(
        stderr(&japanese).contains("サーバーが動いています"),
        "{}",
        stderr(&japanese)
    );
    drop(server);
}

#[test]
fn metrics_filter_on_event_properties() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name,contract_start\nF-1,One,2025-01-01\nF-2,Two,2025-01-01\n",
    );
    // As of 2026-03-01 (window Feb 1-28): F-1 exports pdf 3 pages, pdf 1 page, csv 9
    // pages, and a pdf of 5 pages on Jan 30 (outside); F-2 one csv. PDFs of 2 pages or
    // more in the window: F-1 1 (3 pages), F-2 0; their pages: 3 and 0.
    let events = workspace.path("events.csv");
    ok(std::fs::write(
        &events,
        "account_id,user_id,event,timestamp,format,pages\n\
         F-1,a,Report Exported,2026-01-30T12:00:00Z,pdf,5\nF-1,a,Report Exported,2026-02-02T12:00:00Z,pdf,3\n\
         F-1,b,Report Exported,2026-02-10T12:00:00Z,pdf,1\nF-1,b,Report Exported,2026-02-11T12:00:00Z,csv,9\n\
         F-2,c,Report Exported,2026-02-21T12:00:00Z,csv,4\n",
    ));
    workspace.expect(&["import", "events", &events.to_string_lossy()], None, 0);
    let define = |name: &str, kind: &str, extra: &[&str], code: i32| {
        let mut command = vec![
            "metrics",
            "define",
            "--name",
            name,
            "--kind",
            kind,
            "--event",
            "Report Exported",
            "--where",
            "format=pdf",
            "--where",
            "pages>=2",
        ];
        command.extend(extra);
        workspace.expect(&command, None, code)
    };
    define("pdfs", "count", &[], 0);
    define("pdf_pages", "sum", &["--property", "pages"], 0);
    let refused = define("bad", "count", &["--where", "pages>lots"], 2);
    assert!(
        stderr(&refused).contains("where.value"),
        "{}",
        stderr(&refused)
    );
    let values = |name: &str| -> Vec<(String, Option<f64>)> {
        workspace
            .metric_values(name, "2026-03-01")
            .into_iter()
            .map(|(account, value)| (account, value.as_f64()))
            .collect()
    };
    assert_eq!(
        values("pdfs"),
        vec![("F-1".to_owned(), Some(1.0)), ("F-2".to_owned(), Some(0.0))]
    );
    assert_eq!(
        values("pdf_pages"),
        vec![("F-1".to_owned(), Some(3.0)), ("F-2".to_owned(), Some(0.0))]
    );
}

#[test]
fn metrics_are_defined_and_computed_per_account() {
    let workspace = Workspace::new();
    workspace.import("accounts", "accounts.csv", "external_id,name,contract_start\nM-1,One,2025-01-01\nM-2,Two,2026-02-20\nM-3,Three,2025-01-01\n");
    // As of 2026-03-01, 28-day window = Feb 1-28. M-1: 4 reports (one on Jan 31, outside),
    // 2 logins. M-2 (since Feb 20): 3 reports, no login. M-3: nothing.
    let events = workspace.path("events.csv");
    ok(std::fs::write(
        &events,
        "account_id,user_id,event,timestamp\n\
         M-1,a,Report Run,2026-01-31T12:00:00Z\nM-1,a,Report Run,2026-02-02T12:00:00Z\nM-1,b,Report Run,2026-02-10T12:00:00Z\n\
         M-1,a,Report Run,2026-02-11T12:00:00Z\nM-1,a,Report Run,2026-02-28T23:00:00Z\nM-1,a,Login,2026-02-02T08:00:00Z\nM-1,b,Login,2026-02-10T08:00:00Z\n\
         M-2,c,Report Run,2026-02-21T12:00:00Z\nM-2,c,Report Run,2026-02-22T12:00:00Z\nM-2,c,Report Run,2026-02-23T12:00:00Z\n",
    ));
    workspace.expect(&["import", "events", &events.to_string_lossy()], None, 0);
    for args in [
        vec![
            "--name",
            "reports",
            "--kind",
            "count",
            "--event",
            "Report Run",
        ],
        vec!["--name", "logins", "--kind", "count", "--event", "Login"],
        vec![
            "--name",
            "reports_per_login",
            "--kind",
            "ratio",
            "--numerator",
            "reports",
            "--denominator",
            "logins",
        ],
        vec![
            "--name",
            "reports_pm",
            "--kind",
            "per_month",
            "--event",
            "Report Run",
        ],
    ] {
        let mut command = vec!["metrics", "define"];
        command.extend(args);
        workspace.expect(&command, None, 0);
    }
    let refused = workspace.expect(
        &[
            "metrics",
            "define",
            "--name",
            "bad",
            "--kind",
            "sum",
            "--event",
            "Report Run",
        ],
        None,
        2,
    );
    assert!(
        stderr(&refused).contains("property"),
        "{}",
        stderr(&refused)
    );
    let values = |name: &str| -> HashMap<String, serde_json::Value> {
        workspace
            .metric_values(name, "2026-03-01")
            .into_iter()
            .collect()
    };
    let reports = values("reports");
    assert_eq!(
        (
            reports["M-1"].as_f64(),
            reports["M-2"].as_f64(),
            reports["M-3"].as_f64()
        ),
        (Some(4.0), Some(3.0), Some(0.0))
    );
    let ratio = values("reports_per_login");
    assert_eq!(
        (ratio["M-1"].as_f64(), ratio["M-2"].clone()),
        (Some(2.0), serde_json::Value::Null),
        "missing when there is no login"
    );
    // M-2 has 9 days of tenure (Feb 20-28): 3 × 30 / 9 = 10 per month; M-1 4 × 30 / 28.
    let per_month = values("reports_pm");
    assert_eq!(per_month["M-2"].as_f64(), Some(10.0));
    assert_eq!(per_month["M-1"].as_f64(), Some(4.0 * 30.0 / 28.0));

    // Stored series: the same values, kept per day; a full run adds the daily and weekly
    // history ending on --as-of.
    workspace.expect(
        &[
            "metrics",
            "compute",
            "--name",
            "reports",
            "--as-of",
            "2026-03-01",
        ],
        None,
        0,
    );
    workspace.expect(
        &["metrics", "compute", "--full", "--as-of", "2026-03-01"],
        None,
        0,
    );
    let store = ok(mikawaya_store::sqlite::SqliteStore::open_dir(
        &workspace.data_dir(),
    ));
    use mikawaya_store::Store;
    let read = mikawaya_domain::Actor::system().read();
    let m1 = ok(store.all_accounts(&read))
        .into_iter()
        .find(|a| a.external_id.as_ref().is_some_and(|e| e.as_str() == "M-1"))
        .map(|a| a.id)
        .unwrap_or_else(|| panic!("M-1"));
    let day = jiff::civil::date(2026, 3, 1);
    let series = ok(store.metric_series(
        &read,
        "reports",
        m1,
        ok(day.checked_sub(jiff::Span::new().days(2))),
        day,
    ));
    // Feb 27's window (Jan 30 - Feb 26) and Feb 28's (Jan 31 - Feb 27) hold the reports of
    // Jan 31, Feb 2, 10 and 11; Mar 1's (Feb 1 - 28) those of Feb 2, 10, 11 and 28: 4 each.
    assert_eq!(
        series,
        vec![
            (jiff::civil::date(2026, 2, 27), Some(4.0)),
            (jiff::civil::date(2026, 2, 28), Some(4.0)),
            (day, Some(4.0))
        ]
    );
    let ratio_days = ok(store.metric_days("reports_per_login"));
    // Daily from Jan 31 to Mar 1 (30 days); the weekly days before them back 18 months
    // come before the first event (Jan 31), so none of them: no empty history is stored.
    assert_eq!(ratio_days.len(), 30, "{} days", ratio_days.len());
    assert_eq!(ratio_days.first(), Some(&jiff::civil::date(2026, 1, 31)));
    workspace.expect(&["metrics", "compute", "--name", "nope"], None, 2);
    workspace.expect(
        &[
            "metrics",
            "values",
            "--name",
            "nope",
            "--as-of",
            "2026-03-01",
        ],
        None,
        2,
    );
}

#[test]
fn a_backtest_measures_how_well_a_metric_predicts_churn() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nA,A\nB,B\nC,C\nD,D\n",
    );
    // Observed on 2026-03-01 with a 30-day horizon: only B ends (on 2026-03-20).
    workspace.import("subscriptions", "subscriptions.csv", "account_external_id,plan,mrr,start_date,end_date\nA,pro,10,2025-01-01,\nB,pro,10,2025-01-01,2026-03-20\nC,pro,10,2025-01-01,\nD,pro,10,2025-01-01,\n");
    // February logins: A 5, C 3, B and D none.
    let mut events = String::from("account_id,user_id,event,timestamp\n");
    for (account, logins) in [("A", 5), ("C", 3)] {
        for day in 0..logins {
            events.push_str(&format!(
                "{account},u-{account},Login,2026-02-{:02}T09:00:00Z\n",
                2 + day
            ));
        }
    }
    let file = workspace.path("events.csv");
    ok(std::fs::write(&file, events));
    workspace.expect(&["import", "events", &file.to_string_lossy()], None, 0);
    workspace.expect(
        &[
            "metrics", "define", "--name", "logins", "--kind", "count", "--event", "Login",
        ],
        None,
        0,
    );
    let output = workspace.expect(
        &[
            "backtest",
            "--metric",
            "logins",
            "--horizon-days",
            "30",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-01",
            "--json",
        ],
        None,
        0,
    );
    let result: serde_json::Value = ok(serde_json::from_str(&stdout(&output)));
    // Risk = -logins: B (0) is riskier than A (-5) and C (-3) and ties with D (0): (1 + 1 + 0.5) / 3.
    assert_eq!(
        (result["n"].as_u64(), result["n_churned"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(result["auc"].as_f64(), Some(2.5 / 3.0));
    assert!(result["top_decile_lift"].is_number());
    workspace.expect(
        &["backtest", "--metric", "logins", "--direction", "sideways"],
        None,
        2,
    );

    // The built-in default scorecard scores every account and can be backtested the same way.
    let health = workspace.expect(&["health", "--as-of", "2026-03-01", "--json"], None, 0);
    let rows: Vec<serde_json::Value> = ok(serde_json::from_str(&stdout(&health)));
    let score = |account: &str| {
        rows.iter()
            .find(|r| r["account_external_id"] == account)
            .and_then(|r| r["score"].as_f64())
    };
    // A and C logged in during February; B and D had no events at all.
    assert_eq!(rows.len(), 4);
    assert!(
        score("A").unwrap_or(0.0) > score("B").unwrap_or(100.0),
        "{rows:?}"
    );
    let card = workspace.path("card.json");
    ok(std::fs::write(
        &card,
        r#"{"name": "logins_only", "measures": [{"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 1, "red": 0, "green": 5}]}"#,
    ));
    let output = workspace.expect(
        &[
            "backtest",
            "--scorecard-file",
            &card.to_string_lossy(),
            "--horizon-days",
            "30",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-01",
            "--json",
        ],
        None,
        0,
    );
    let result: serde_json::Value = ok(serde_json::from_str(&stdout(&output)));
    assert_eq!(
        result["auc"].as_f64(),
        Some(2.5 / 3.0),
        "the same ranking as the logins metric"
    );
    // Side by side with the default scorecard, on the same observation dates.
    let output = workspace.expect(
        &[
            "backtest",
            "--scorecard-file",
            &card.to_string_lossy(),
            "--svg",
            &workspace.path("calibration.svg").to_string_lossy(),
            "--versus",
            "default",
            "--horizon-days",
            "30",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-01",
            "--json",
        ],
        None,
        0,
    );
    let both: serde_json::Value = ok(serde_json::from_str(&stdout(&output)));
    assert_eq!(
        both["auc"], result["auc"],
        "the first scorecard is unchanged"
    );
    assert_eq!(both["versus"]["n_churned"], result["n_churned"]);
    assert!(both["versus"]["calibration"].is_array());
    let svg = ok(std::fs::read_to_string(workspace.path("calibration.svg")));
    assert!(svg.contains("churn rate % per risk decile"), "{svg}");
    let groups = result["calibration"].as_array().map_or(0, Vec::len);
    assert_eq!(
        svg.matches("<rect").count(),
        groups,
        "one bar per calibration group"
    );
    ok(std::fs::write(
        &card,
        r#"{"name": "broken", "measures": []}"#,
    ));
    workspace.expect(
        &["health", "--scorecard-file", &card.to_string_lossy()],
        None,
        2,
    );
}

#[test]
fn account_facts_are_metrics_through_the_cli() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name,contract_start\nF-1,One,2025-01-01\nF-2,Two,2026-01-01\n",
    );
    workspace.import(
        "subscriptions",
        "subscriptions.csv",
        "external_id,account_external_id,plan,quantity,mrr,start_date,end_date\n\
         S-1,F-1,pro,10,500,2025-01-01,2026-02-15\nS-2,F-1,addon,3,120,2026-01-01,\nS-3,F-2,pro,4,200,2026-01-01,\n",
    );
    workspace.import(
        "touchpoints",
        "touchpoints.csv",
        "account_external_id,kind,occurred_at,summary\nF-1,call,2026-02-20T10:00:00Z,check-in\n",
    );
    for (name, kind) in [
        ("mrr", "mrr"),
        ("seats", "seats"),
        ("tenure", "tenure_days"),
        ("touch", "days_since_touch"),
    ] {
        workspace.expect(
            &["metrics", "define", "--name", name, "--kind", kind],
            None,
            0,
        );
    }
    let value = |name: &str| -> serde_json::Value {
        let output = workspace.expect(
            &[
                "metrics",
                "values",
                "--name",
                name,
                "--as-of",
                "2026-03-01",
                "--json",
            ],
            None,
            0,
        );
        ok(serde_json::from_str(&stdout(&output)))
    };
    // On 2026-03-01 F-1 has only S-2 (S-1 ended Feb 15): 120 MRR, 3 seats; F-2: 200, 4.
    assert_eq!(
        value("mrr"),
        serde_json::json!([{"account_external_id": "F-1", "value": 120.0}, {"account_external_id": "F-2", "value": 200.0}])
    );
    assert_eq!(
        value("seats"),
        serde_json::json!([{"account_external_id": "F-1", "value": 3.0}, {"account_external_id": "F-2", "value": 4.0}])
    );
    // 2025-01-01 → 2026-03-01 is 424 days; 2026-01-01 → 59.
    assert_eq!(
        value("tenure"),
        serde_json::json!([{"account_external_id": "F-1", "value": 424.0}, {"account_external_id": "F-2", "value": 59.0}])
    );
    // F-1's call was 9 days before; F-2 has none (missing).
    assert_eq!(
        value("touch"),
        serde_json::json!([{"account_external_id": "F-1", "value": 9.0}, {"account_external_id": "F-2", "value": null}])
    );
}

/// The stored events of a data dir as (message id, account, event, timestamp ms,
/// properties), read from its Parquet export.
fn exported_events(workspace: &Workspace) -> Vec<(String, String, String, i64, String)> {
    use parquet::file::reader::FileReader;
    use parquet::record::RowAccessor;
    let out = workspace.path("export-check");
    let _ = std::fs::remove_dir_all(&out);
    workspace.expect(
        &[
            "events",
            "export",
            "--format",
            "parquet",
            &out.to_string_lossy(),
        ],
        None,
        0,
    );
    let file = ok(std::fs::File::open(out.join("events.parquet")));
    let reader = ok(parquet::file::reader::SerializedFileReader::new(file));
    let rows = ok(reader.get_row_iter(None));
    rows.map(|row| {
        let row = ok(row);
        (
            ok(row.get_string(1)).clone(),
            ok(row.get_string(6)).clone(),
            ok(row.get_string(7)).clone(),
            ok(row.get_timestamp_millis(8)),
            row.get_string(10).cloned().unwrap_or_default(),
        )
    })
    .collect()
}

/// A warehouse export: columns in its own order and names, CRLF, times without an offset,
/// rows that genuinely repeat, an optional message id, a column to leave out.
#[test]
fn events_csv_as_warehouses_export_it() {
    let workspace = Workspace::new();
    let file = workspace.path("warehouse.csv");
    let rows = "Event Time,Kunde,User ID,Event Name,Internal,page\r\n\
                2020-01-03 09:00:00,ACC-1,u1,Like,x,home\r\n\
                2020-01-03 09:00:00,ACC-1,u1,Like,x,home\r\n\
                2020-01-03,ACC-1,u2,Dislike,x,\r\n\
                1577836800,ACC-2,u3,Like,x,feed\r\n";
    ok(std::fs::write(&file, rows));
    let path = file.to_string_lossy().to_string();
    let import = |extra: &[&str], code: i32| {
        let mut args = vec![
            "import",
            "events",
            path.as_str(),
            "--time-zone",
            "Asia/Tokyo",
        ];
        args.extend_from_slice(extra);
        workspace.expect(&args, None, code)
    };
    // Kunde is nobody's alias: the file is refused until it is mapped, naming the header.
    let refused = import(&[], 2);
    assert!(
        stderr(&refused).contains("no column gives account_id")
            && stderr(&refused).contains("Event Time, Kunde, User ID"),
        "{}",
        stderr(&refused)
    );
    let unknown = import(&["--map", "Customer=account_id"], 2);
    assert!(
        stderr(&unknown).contains("no column 'Customer'"),
        "{}",
        stderr(&unknown)
    );
    let mapped = ["--map", "Kunde=account_id", "--map", "Internal="];
    let first = import(&mapped, 0);
    assert!(
        stdout(&first).contains("4 new, 0 already there"),
        "{}",
        stdout(&first)
    );
    let again = import(&mapped, 0);
    assert!(
        stdout(&again).contains("0 new, 4 already there"),
        "{}",
        stdout(&again)
    );
    // Rows added at the end: only they are new.
    ok(std::fs::write(
        &file,
        format!("{rows}2020-01-03 09:00:00,ACC-1,u1,Like,x,home\r\n"),
    ));
    let grown = import(&mapped, 0);
    assert!(
        stdout(&grown).contains("1 new, 4 already there"),
        "{}",
        stdout(&grown)
    );

    let events = exported_events(&workspace);
    assert_eq!(events.len(), 5);
    let tokyo_nine = 1_578_009_600_000; // 2020-01-03T00:00:00Z = 09:00 in Tokyo
    let likes: Vec<_> = events
        .iter()
        .filter(|e| e.1 == "ACC-1" && e.2 == "Like")
        .collect();
    assert_eq!(likes.len(), 3, "{events:?}");
    assert!(
        likes
            .iter()
            .all(|e| e.3 == tokyo_nine && e.4.contains("\"page\":\"home\""))
    );
    assert!(likes.iter().all(|e| !e.4.contains("Internal")));
    let ids: HashSet<&String> = events.iter().map(|e| &e.0).collect();
    assert_eq!(ids.len(), 5, "every genuine repeat has its own id");
    let dislike = events.iter().find(|e| e.2 == "Dislike");
    assert_eq!(
        dislike.map(|e| e.3),
        Some(1_577_977_200_000),
        "the day's start in Tokyo"
    );
    let unix = events.iter().find(|e| e.1 == "ACC-2");
    assert_eq!(unix.map(|e| e.3), Some(1_577_836_800_000), "Unix seconds");

    // A message id column: its ids are the events' ids, whatever the rows hold.
    let with_ids = workspace.path("with-ids.csv");
    ok(std::fs::write(
        &with_ids,
        "messageId,groupId,userId,event,timestamp\n\
         m-1,ACC-3,u9,Like,2020-01-04T00:00:00Z\n\
         m-2,ACC-3,u9,Like,2020-01-04T00:00:00Z\n\
         m-1,ACC-3,u9,Like,2020-01-04T00:00:00Z\n",
    ));
    let imported = workspace.expect(&["import", "events", &with_ids.to_string_lossy()], None, 0);
    assert!(
        stdout(&imported).contains("2 new, 1 already there"),
        "{}",
        stdout(&imported)
    );
    let events = exported_events(&workspace);
    let mut acc3: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "ACC-3")
        .map(|e| e.0.as_str())
        .collect();
    acc3.sort_unstable();
    assert_eq!(acc3, ["m-1", "m-2"]);
    // Options of the table imports are refused for events rather than ignored.
    let wrong = workspace.expect(
        &[
            "import",
            "events",
            &with_ids.to_string_lossy(),
            "--currency",
            "JPY",
        ],
        None,
        2,
    );
    assert!(
        stderr(&wrong).contains("--currency is for accounts"),
        "{}",
        stderr(&wrong)
    );
}

/// `churn --activity-days`: the hand-computed case of the app test through the binary
/// (A stays, B and D churn, C and E are not in the cohort), with the rate per month and
/// year; the API answers the same.
#[tokio::test(flavor = "multi_thread")]
async fn activity_churn_through_the_cli_and_the_api() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nA,A\nB,B\nC,C\nD,D\nE,E\n",
    );
    workspace.import(
        "events",
        "events.csv",
        "account_id,user_id,event,timestamp\n\
         A,u,Login,2026-02-20T10:00:00Z\nA,u,Login,2026-03-25T10:00:00Z\n\
         B,u,Login,2026-02-27T10:00:00Z\nC,u,Login,2026-01-15T10:00:00Z\n\
         D,u,Login,2026-02-01T10:00:00Z\nD,u,Login,2026-03-03T10:00:00Z\n\
         E,u,Login,2026-03-31T10:00:00Z\n",
    );
    let args = [
        "churn",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--activity-days",
        "28",
    ];
    let text = workspace.expect(&args, None, 0);
    assert!(
        stdout(&text).contains("churned           2 (66.67%)"),
        "{}",
        stdout(&text)
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = workspace.expect(&json_args, None, 0);
    let report: serde_json::Value = ok(serde_json::from_slice(&json.stdout));
    assert_eq!(report["accounts_at_start"], 3);
    let zero = workspace.expect(
        &[
            "churn",
            "--from",
            "2026-03-01",
            "--to",
            "2026-04-01",
            "--activity-days",
            "0",
        ],
        None,
        2,
    );
    assert!(
        stderr(&zero).contains("--activity-days"),
        "{}",
        stderr(&zero)
    );

    let token = workspace.admin_token();
    let server = workspace.serve();
    let reply = ok(client()
        .get(format!(
            "{}/api/v1/analytics/activity-churn?from=2026-03-01&to=2026-04-01&activity_days=28",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await);
    let body: serde_json::Value = ok(reply.json().await);
    assert_eq!(
        (body["accounts_at_start"].clone(), body["churned"].clone()),
        (3.into(), 2.into()),
        "{body}"
    );
    assert_eq!(body["monthly"], report["monthly"]);
    let refused = ok(client()
        .get(format!(
            "{}/api/v1/analytics/activity-churn?from=2026-03-01&to=2026-04-01&activity_days=0",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await);
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = ok(refused.json().await);
    assert_eq!(body["error"]["field"], "activity_days", "{body}");
}

/// `metrics table` and `GET /api/v1/analytics/metric-table`: account × date × metric on a
/// history computed by hand, as a plain table and as an observation dataset with churn
/// labels; both edges give the same bytes; bad requests name their field.
#[tokio::test(flavor = "multi_thread")]
async fn metric_tables_in_bulk_through_the_cli_and_the_api() {
    let workspace = Workspace::new();
    workspace.import("accounts", "accounts.csv", "external_id,name\nA,A\nB,B\n");
    workspace.import(
        "subscriptions",
        "subscriptions.csv",
        "account_external_id,plan,mrr,start_date,end_date\nA,pro,10,2026-01-01,2026-03-25\nA,pro,10,2026-03-25,\nB,pro,10,2026-01-01,2026-03-20\n",
    );
    workspace.import(
        "events",
        "events.csv",
        "account_id,user_id,event,timestamp\n\
         A,u,Login,2026-02-20T10:00:00Z\nA,u,Login,2026-03-05T10:00:00Z\n\
         A,u,Report,2026-03-06T10:00:00Z\nA,u,Login,2026-03-10T10:00:00Z\n\
         B,u,Login,2026-02-27T10:00:00Z\n",
    );
    workspace.expect(
        &[
            "metrics",
            "define",
            "--name",
            "logins",
            "--kind",
            "count",
            "--event",
            "Login",
            "--window-days",
            "7",
        ],
        None,
        0,
    );
    // A 7-day average observed over 14 days.
    workspace.expect(
        &[
            "metrics",
            "define",
            "--name",
            "logins-avg",
            "--kind",
            "per_period",
            "--event",
            "Login",
            "--window-days",
            "14",
            "--period-days",
            "7",
        ],
        None,
        0,
    );
    let range = [
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-15",
        "--every",
        "1w",
    ];
    let mut args = vec!["metrics", "table", "--names", "logins,logins-avg"];
    args.extend(range);
    let table = workspace.expect(&args, None, 0);
    // Without the account ids (the store numbers them).
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| line.split_once(',').map_or("", |(_, rest)| rest).to_owned())
            .collect()
    };
    assert_eq!(
        rows(&stdout(&table)),
        [
            "external_id,date,logins,logins-avg",
            "A,2026-03-01,0,0.5",
            "A,2026-03-08,1,0.5",
            "A,2026-03-15,1,1",
            "B,2026-03-01,1,0.5",
            "B,2026-03-08,0,0.5",
            "B,2026-03-15,0,0",
        ]
    );
    // An observation dataset: B's last subscription ends on Mar 20, so it churned within
    // 14 days of Mar 8 and Mar 15, and is not in the cohort of Mar 22.
    let dataset_args = [
        "metrics",
        "table",
        "--names",
        "logins",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-22",
        "--churn-horizon-days",
        "14",
    ];
    let dataset = workspace.expect(&dataset_args, None, 0);
    assert_eq!(
        rows(&stdout(&dataset)),
        [
            "external_id,date,logins,churned",
            "A,2026-03-01,0,0",
            "A,2026-03-08,1,0",
            "A,2026-03-15,1,0",
            "A,2026-03-22,0,0",
            "B,2026-03-01,1,0",
            "B,2026-03-08,0,1",
            "B,2026-03-15,0,1",
        ]
    );
    // Once per renewal, 14 days before it: A renewed on Mar 25 (observed Mar 11: logins
    // Mar 4-10 are 2), B did not on Mar 20 (observed Mar 6: its Feb 27 login).
    let renewals = workspace.expect(
        &[
            "metrics",
            "table",
            "--names",
            "logins",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--before-renewal-days",
            "14",
        ],
        None,
        0,
    );
    assert_eq!(
        rows(&stdout(&renewals)),
        [
            "external_id,date,logins,churned",
            "A,2026-03-11,2,0",
            "B,2026-03-06,1,1",
        ]
    );
    // The same dataset as a Parquet file: typed columns, null for missing, the label.
    let parquet = workspace.path("dataset.parquet");
    let mut parquet_args = dataset_args.to_vec();
    let parquet_path = parquet.to_string_lossy().into_owned();
    parquet_args.extend(["--format", "parquet", "--out", &parquet_path]);
    workspace.expect(&parquet_args, None, 0);
    {
        use parquet::file::reader::FileReader;
        use parquet::record::RowAccessor;
        let reader = ok(parquet::file::reader::SerializedFileReader::new(ok(
            std::fs::File::open(&parquet),
        )));
        let rows: Vec<(String, i32, f64, bool)> = ok(reader.get_row_iter(None))
            .map(|row| {
                let row = ok(row);
                (
                    ok(row.get_string(1)).clone(),
                    match row.get_column_iter().nth(2) {
                        Some((_, parquet::record::Field::Date(day))) => *day,
                        other => panic!("date column: {other:?}"),
                    },
                    ok(row.get_double(3)),
                    ok(row.get_bool(4)),
                )
            })
            .collect();
        // 2026-03-08 is day 20520 since 1970-01-01.
        assert_eq!(rows.len(), 7, "{rows:?}");
        assert_eq!(rows[5], ("B".to_owned(), 20520, 0.0, true), "{rows:?}");
    }
    let no_file = workspace.expect(
        &[
            "metrics", "table", "--names", "logins", "--format", "parquet",
        ],
        None,
        2,
    );
    assert!(stderr(&no_file).contains("--out"), "{}", stderr(&no_file));
    let unknown = workspace.expect(&["metrics", "table", "--names", "logins,nope"], None, 2);
    assert!(
        stderr(&unknown).contains("--names: no metric named nope"),
        "{}",
        stderr(&unknown)
    );

    let token = workspace.admin_token();
    let server = workspace.serve();
    let get = |query: &str| {
        client()
            .get(format!(
                "{}/api/v1/analytics/metric-table?{query}",
                server.base
            ))
            .bearer_auth(&token)
            .send()
    };
    let reply = ok(get("names=logins,logins-avg&from=2026-03-01&to=2026-03-15&every=7d").await);
    assert_eq!(reply.status(), reqwest::StatusCode::OK);
    assert!(
        reply
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/csv")),
        "{:?}",
        reply.headers()
    );
    assert_eq!(ok(reply.text().await), stdout(&table));
    let lines = ok(ok(get(
        "names=logins&from=2026-03-01&to=2026-03-22&churn_horizon_days=14&format=jsonl",
    )
    .await)
    .text()
    .await);
    let parsed: Vec<serde_json::Value> = lines
        .lines()
        .map(|line| ok(serde_json::from_str(line)))
        .collect();
    assert_eq!(parsed.len(), 7, "{lines}");
    assert_eq!(
        (
            parsed[5]["external_id"].clone(),
            parsed[5]["date"].clone(),
            parsed[5]["logins"].clone(),
            parsed[5]["churned"].clone()
        ),
        ("B".into(), "2026-03-08".into(), 0.0.into(), true.into()),
        "{lines}"
    );
    // Parquet through the API: the same file, byte for byte, as the CLI wrote.
    let reply = ok(get(
        "names=logins&from=2026-03-01&to=2026-03-22&churn_horizon_days=14&format=parquet",
    )
    .await);
    assert_eq!(reply.status(), reqwest::StatusCode::OK);
    assert_eq!(
        reply
            .headers()
            .get("content-type")
            .map(|v| v.as_bytes().to_vec()),
        Some(b"application/vnd.apache.parquet".to_vec())
    );
    assert_eq!(
        ok(reply.bytes().await).to_vec(),
        ok(std::fs::read(&parquet)),
        "the API's Parquet table is the CLI's"
    );
    for (query, field) in [
        ("names=nope", "names"),
        ("names=logins&every=0d", "every"),
        ("names=logins&format=xml", "format"),
        ("names=logins&from=2026-03-10&to=2026-03-01", "from"),
        ("names=logins&from=2000-01-01&to=2026-03-01&every=1", "to"),
        ("names=logins&before_renewal_days=0", "before_renewal_days"),
        (
            "names=logins&before_renewal_days=14&churn_horizon_days=14",
            "churn_horizon_days",
        ),
    ] {
        let refused = ok(get(query).await);
        assert_eq!(
            refused.status(),
            reqwest::StatusCode::BAD_REQUEST,
            "{query}"
        );
        let body: serde_json::Value = ok(refused.json().await);
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
}
