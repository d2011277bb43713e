//! The subcommands, end to end.

use crate::util::{Workspace, client, ok, stderr, stdout};
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;

fn account_count(data_dir: &std::path::Path) -> u64 {
    let store = ok(SqliteStore::open_dir(data_dir));
    ok(store.count_accounts(&Actor::system().read(), &Default::default()))
}

#[tokio::test]
async fn a_token_from_the_cli_opens_the_api_of_a_demo_server() {
    let workspace = Workspace::new();
    workspace.expect(
        &[
            "demo",
            "--accounts",
            "80",
            "--seed",
            "5",
            "--as-of",
            "2026-06-01",
        ],
        None,
        0,
    );
    let output = workspace.expect(
        &["token", "create", "--name", "ci", "--scope", "read"],
        None,
        0,
    );
    let token = stdout(&output).lines().last().unwrap_or("").to_owned();
    assert!(token.starts_with("mkw_"), "{token}");
    let server = workspace.serve();
    let reply = ok(client()
        .get(format!(
            "{}/api/v1/accounts?limit=50&sort=renewal_date",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await);
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = ok(reply.json().await);
    let rows = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|row| row["mrr"].is_number()
        && row.get("renewal_date").is_some()
        && row["stage"].is_string()));
    let refused = ok(client()
        .post(format!("{}/api/v1/accounts", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await);
    assert_eq!(refused.status(), 403, "a read token cannot write");
}

#[test]
fn the_data_dir_flag_works_before_and_after_the_subcommand() {
    let workspace = Workspace::new();
    let before = workspace.path("before");
    let after = workspace.path("after");
    workspace.expect(
        &[
            "--data-dir",
            &before.to_string_lossy(),
            "demo",
            "--accounts",
            "5",
        ],
        None,
        0,
    );
    workspace.expect(
        &[
            "demo",
            "--accounts",
            "7",
            "--data-dir",
            &after.to_string_lossy(),
        ],
        None,
        0,
    );
    assert_eq!(account_count(&before), 5);
    assert_eq!(account_count(&after), 7);
}

#[test]
fn the_demo_is_the_same_for_the_same_seed() {
    let workspace = Workspace::new();
    let names = |dir: &std::path::Path| {
        let store = ok(SqliteStore::open_dir(dir));
        let page = ok(store.list_accounts(
            &Actor::system().read(),
            &Default::default(),
            Default::default(),
            &mikawaya_store::PageRequest::first(1000),
        ));
        page.data
            .into_iter()
            .map(|a| {
                (
                    a.external_id.map(String::from),
                    a.name.to_string(),
                    a.mrr.amount(),
                    a.renewal_date,
                )
            })
            .collect::<Vec<_>>()
    };
    for name in ["one", "two"] {
        let dir = workspace.path(name);
        workspace.expect(
            &[
                "demo",
                "--accounts",
                "120",
                "--seed",
                "9",
                "--locale",
                "ja",
                "--as-of",
                "2026-01-15",
                "--data-dir",
                &dir.to_string_lossy(),
            ],
            None,
            0,
        );
    }
    let (one, two) = (names(&workspace.path("one")), names(&workspace.path("two")));
    assert_eq!(one.len(), 120);
    assert_eq!(one, two);
    assert!(
        one.iter().any(|(_, name, _, _)| name.contains("株式会社")),
        "Japanese company names"
    );
}

#[test]
fn a_csv_with_one_bad_row_imports_nothing_and_names_file_line_and_column() {
    let workspace = Workspace::new();
    let file = workspace.path("accounts.csv");
    ok(std::fs::write(
        &file,
        "external_id,name,mrr\nA-1,Alpha,10\nA-2,Beta,ten\nA-3,Gamma,30\n",
    ));
    let output = workspace.expect(&["import", "accounts", &file.to_string_lossy()], None, 2);
    let errors = stderr(&output);
    assert!(errors.contains("accounts.csv:3: column mrr:"), "{errors}");
    assert!(errors.contains("nothing was imported"), "{errors}");
    assert_eq!(account_count(&workspace.data_dir()), 0);
    ok(std::fs::write(
        &file,
        "external_id,name,mrr\nA-1,Alpha,10\nA-2,Beta,20\n",
    ));
    let output = workspace.expect(&["import", "accounts", &file.to_string_lossy()], None, 0);
    assert!(stdout(&output).contains("2 created"), "{}", stdout(&output));
    assert_eq!(account_count(&workspace.data_dir()), 2);
}

#[test]
fn a_shift_jis_file_imports_through_the_cli() {
    let workspace = Workspace::new();
    let file = workspace.path("顧客.csv");
    let (bytes, _, _) =
        encoding_rs::SHIFT_JIS.encode("顧客ID,顧客名,月額\r\nK-1,有限会社三河屋,\"9,800\"\r\n");
    ok(std::fs::write(&file, bytes));
    workspace.expect(&["import", "accounts", &file.to_string_lossy()], None, 0);
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let page = ok(store.list_accounts(
        &Actor::system().read(),
        &Default::default(),
        Default::default(),
        &mikawaya_store::PageRequest::first(10),
    ));
    assert_eq!(page.data[0].name.as_str(), "有限会社三河屋");
    assert_eq!(page.data[0].mrr.amount(), 9800.0);
}

#[test]
fn users_get_argon2id_passwords_from_standard_input() {
    let workspace = Workspace::new();
    let short = workspace.expect(
        &[
            "user",
            "create",
            "--email",
            "aki@team.example",
            "--role",
            "csm",
            "--password-stdin",
        ],
        Some("short\n"),
        2,
    );
    assert!(stderr(&short).contains("at least 12"));
    workspace.expect(
        &[
            "user",
            "create",
            "--email",
            "aki@team.example",
            "--role",
            "csm",
            "--password-stdin",
        ],
        Some("a long passphrase\n"),
        0,
    );
    let duplicate = workspace.expect(
        &[
            "user",
            "create",
            "--email",
            "AKI@team.example",
            "--role",
            "csm",
        ],
        None,
        2,
    );
    assert!(
        stderr(&duplicate).contains("exists"),
        "{}",
        stderr(&duplicate)
    );
    let orphan = workspace.expect(
        &[
            "user",
            "create",
            "--email",
            "p@team.example",
            "--role",
            "partner",
        ],
        None,
        2,
    );
    assert!(stderr(&orphan).contains("partner"), "{}", stderr(&orphan));
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let email = ok(mikawaya_domain::value::Email::parse("aki@team.example"));
    let (user, hash) = ok(store.find_login(&email)).unwrap_or_else(|| panic!("user missing"));
    assert_eq!(user.role, mikawaya_domain::access::Role::Csm);
    let hash = hash.unwrap_or_default();
    assert!(hash.starts_with("$argon2id$"));
    assert!(mikawaya_server::auth::verify_password(
        "a long passphrase",
        &hash
    ));
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_a_whole_data_dir_with_its_events() {
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "40"], None, 0);
    let token = workspace.admin_token();
    let server = workspace.serve();
    let http = client();
    let get = |base: &str, path: &str| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move {
            let reply = ok(request.send().await);
            assert_eq!(reply.status(), 200);
            ok(reply.json::<serde_json::Value>().await)
        }
    };
    let backup = workspace.path("backup");
    let output = workspace.expect(&["backup", &backup.to_string_lossy()], None, 0);
    assert!(
        stdout(&output).contains("event log segments"),
        "{}",
        stdout(&output)
    );
    let again = workspace.expect(&["backup", &backup.to_string_lossy()], None, 2);
    assert!(stderr(&again).contains("exists"));
    let catalog = get(&server.base, "/api/v1/events/catalog").await;
    let accounts = without_signals(get(&server.base, "/api/v1/accounts?limit=200").await);
    let first = accounts["data"][0]["id"].as_i64().unwrap_or(0);
    let usage_path = format!("/api/v1/accounts/{first}/usage?interval=month");
    let usage = get(&server.base, &usage_path).await;
    drop(server);

    // A damaged copy is refused, naming the file, and changes nothing.
    let damaged = workspace.path("damaged");
    ok(std::fs::create_dir_all(damaged.join("events")));
    for entry in ok(std::fs::read_dir(&backup)) {
        let path = ok(entry).path();
        if path.is_file() {
            ok(std::fs::copy(
                &path,
                damaged.join(ok(path.file_name().ok_or("name"))),
            ));
        }
    }
    for entry in ok(std::fs::read_dir(backup.join("events"))) {
        let path = ok(entry).path();
        ok(std::fs::copy(
            &path,
            damaged
                .join("events")
                .join(ok(path.file_name().ok_or("name"))),
        ));
    }
    let segment = damaged.join("events").join("00000001.seg");
    let mut bytes = ok(std::fs::read(&segment));
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    ok(std::fs::write(&segment, bytes));
    let target = workspace.path("restored");
    let refused = workspace.expect(
        &[
            "--data-dir",
            &target.to_string_lossy(),
            "restore",
            &damaged.to_string_lossy(),
        ],
        None,
        2,
    );
    assert!(
        stderr(&refused).contains("events/00000001.seg does not match its checksum"),
        "{}",
        stderr(&refused)
    );
    assert!(!target.exists());
    let occupied = workspace.expect(
        &[
            "--data-dir",
            &workspace.data_dir().to_string_lossy(),
            "restore",
            &backup.to_string_lossy(),
        ],
        None,
        2,
    );
    assert!(
        stderr(&occupied).contains("is not empty"),
        "{}",
        stderr(&occupied)
    );

    let restored = workspace.expect(
        &[
            "--data-dir",
            &target.to_string_lossy(),
            "restore",
            &backup.to_string_lossy(),
        ],
        None,
        0,
    );
    assert!(
        stdout(&restored).contains(": 40 accounts, "),
        "{}",
        stdout(&restored)
    );
    let mut command = workspace.command();
    command.env("MIKAWAYA_DATA_DIR", &target);
    let copy = Workspace::serve_command(command);
    assert_eq!(get(&copy.base, "/api/v1/events/catalog").await, catalog);
    // Signals (health, forecast risk) are a cache each server refreshes in the
    // background on its own clock; the records themselves must be equal.
    assert_eq!(
        without_signals(get(&copy.base, "/api/v1/accounts?limit=200").await)["data"],
        accounts["data"]
    );
    assert_eq!(get(&copy.base, &usage_path).await, usage);
}

/// An account page with each account's background-refreshed signals left out.
fn without_signals(mut page: serde_json::Value) -> serde_json::Value {
    if let Some(rows) = page["data"].as_array_mut() {
        for row in rows {
            if let Some(object) = row.as_object_mut() {
                object.remove("signals");
            }
        }
    }
    page
}

#[test]
fn bad_flags_exit_with_code_two() {
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "0"], None, 2);
    workspace.expect(&["demo", "--locale", "fr"], None, 2);
    workspace.expect(&["import", "widgets", "x.csv"], None, 2);
    workspace.expect(
        &["token", "create", "--name", "x", "--scope", "god"],
        None,
        2,
    );
    workspace.expect(&["no-such-command"], None, 2);
}

#[test]
fn churn_prints_the_formulas_as_json() {
    let workspace = Workspace::new();
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name,tier\nA,Alpha,high\nB,Beta,low\nC,Gamma,high\n",
    );
    // t0 = Jan 1, t1 = Apr 1: A keeps 100; B (200) ends Feb 1; C grows 300 → 360 on Mar 1.
    let subscriptions = workspace.path("subscriptions.csv");
    ok(std::fs::write(
        &subscriptions,
        "external_id,account_external_id,plan,mrr,start_date,end_date\n\
         S1,A,pro,100,2025-01-01,\nS2,B,pro,200,2025-01-01,2026-02-01\nS3,C,pro,300,2025-01-01,2026-03-01\nS4,C,pro,360,2026-03-01,\n",
    ));
    workspace.expect(
        &["import", "subscriptions", &subscriptions.to_string_lossy()],
        None,
        0,
    );
    let output = workspace.expect(
        &[
            "churn",
            "--from",
            "2026-01-01",
            "--to",
            "2026-04-01",
            "--json",
        ],
        None,
        0,
    );
    let report: serde_json::Value = ok(serde_json::from_str(&stdout(&output)));
    assert_eq!(
        (
            report["accounts_at_start"].as_u64(),
            report["churned"].as_u64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(report["logo_churn_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(report["mrr_churn_rate"].as_f64(), Some(200.0 / 600.0));
    assert_eq!(report["grr"].as_f64(), Some(400.0 / 600.0));
    assert_eq!(report["nrr"].as_f64(), Some(460.0 / 600.0));
    workspace.expect(
        &["churn", "--from", "2026-04-01", "--to", "2026-01-01"],
        None,
        2,
    );
    // By tier: high = A (100 kept) and C (300 → 360); low = B (200, churned).
    let output = workspace.expect(
        &[
            "churn",
            "--from",
            "2026-01-01",
            "--to",
            "2026-04-01",
            "--by",
            "tier",
            "--json",
        ],
        None,
        0,
    );
    let split: serde_json::Value = ok(serde_json::from_str(&stdout(&output)));
    let cohort = |name: &str| {
        split["cohorts"]
            .as_array()
            .and_then(|c| c.iter().find(|r| r["cohort"] == name).cloned())
            .unwrap_or_default()
    };
    assert_eq!(
        (
            cohort("high")["churned"].as_u64(),
            cohort("high")["nrr"].as_f64()
        ),
        (Some(0), Some(460.0 / 400.0))
    );
    assert_eq!(
        (
            cohort("low")["accounts_at_start"].as_u64(),
            cohort("low")["logo_churn_rate"].as_f64()
        ),
        (Some(1), Some(1.0))
    );
    let by_month = workspace.expect(
        &[
            "churn",
            "--from",
            "2026-01-01",
            "--to",
            "2026-04-01",
            "--by",
            "start_month",
        ],
        None,
        0,
    );
    assert!(
        stdout(&by_month).contains("2025-01"),
        "{}",
        stdout(&by_month)
    );
    // The cohort chart as SVG: one bar per cohort, labelled, with its title.
    let chart = workspace.path("tiers.svg");
    workspace.expect(
        &[
            "churn",
            "--from",
            "2026-01-01",
            "--to",
            "2026-04-01",
            "--by",
            "tier",
            "--svg",
            &chart.to_string_lossy(),
        ],
        None,
        0,
    );
    let svg = ok(std::fs::read_to_string(&chart));
    assert!(
        svg.starts_with("<?xml") && svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("Logo churn % by tier, 2026-01-01 to 2026-04-01"));
    // high churned 0% (a bar of no height), low 100% (the full 150-unit plot height).
    assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
    assert!(
        svg.contains("height=\"0.0\"") && svg.contains("height=\"150.0\""),
        "{svg}"
    );
    assert!(svg.contains(">high<") && svg.contains(">low<"));
    workspace.expect(
        &[
            "churn",
            "--from",
            "2026-01-01",
            "--to",
            "2026-04-01",
            "--by",
            "colour",
        ],
        None,
        2,
    );
}

#[test]
fn custom_fields_are_defined_from_the_cli_before_an_import() {
    let workspace = Workspace::new();
    // Until the field is defined, its column is refused.
    let refused = workspace.run(
        &["import", "accounts", &{
            let file = workspace.path("early.csv");
            ok(std::fs::write(
                &file,
                "external_id,name,custom.industry\r\nA1,Acme,Retail\r\n",
            ));
            file.to_string_lossy().into_owned()
        }],
        None,
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        crate::util::stderr(&refused)
    );
    workspace.expect(
        &[
            "fields", "define", "--key", "industry", "--label", "Industry", "--kind", "enum",
            "--option", "Retail", "--option", "Finance",
        ],
        None,
        0,
    );
    let bad = workspace.expect(
        &[
            "fields", "define", "--key", "size", "--label", "Size", "--kind", "huge",
        ],
        None,
        2,
    );
    assert!(
        crate::util::stderr(&bad).contains("--kind"),
        "{}",
        crate::util::stderr(&bad)
    );
    let listed = workspace.expect(&["fields", "list"], None, 0);
    assert!(
        stdout(&listed).contains("industry\tenum\tIndustry\tRetail|Finance"),
        "{}",
        stdout(&listed)
    );
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name,custom.industry\r\nA1,Acme,Retail\r\n",
    );
    let wrong = workspace.run(
        &["import", "accounts", &{
            let file = workspace.path("wrong.csv");
            ok(std::fs::write(
                &file,
                "external_id,name,custom.industry\r\nA2,Beta,Mining\r\n",
            ));
            file.to_string_lossy().into_owned()
        }],
        None,
    );
    let message = crate::util::stderr(&wrong);
    assert_eq!(wrong.status.code(), Some(2), "{message}");
    assert!(message.contains("wrong.csv:2"), "{message}");
}

#[test]
fn the_journey_is_saved_reported_and_bad_files_are_named() {
    let workspace = Workspace::new();
    // Stages from a CRM export enter the journey's history on import.
    workspace.import(
        "accounts",
        "accounts.csv",
        "external_id,name,tier,stage\r\nA,Alpha,high,onboarding\r\nB,Beta,low,onboarding\r\nC,Gamma,high,value\r\n",
    );
    let shown = workspace.expect(&["journey", "show"], None, 0);
    assert!(stderr(&shown).contains("version 0"), "{}", stderr(&shown));
    let bad = workspace.path("bad.json");
    ok(std::fs::write(
        &bad,
        r#"{"stages": [{"key": "onboarding", "name": {"en": "Onboarding"}},
 {"key": "Value!", "name": {"en": "Value"}}]}"#,
    ));
    let refused = workspace.expect(&["journey", "save", &bad.to_string_lossy()], None, 2);
    let said = stderr(&refused);
    assert!(
        said.contains("bad.json") && said.contains("stages[1].key"),
        "{said}"
    );
    let broken = workspace.path("broken.json");
    ok(std::fs::write(&broken, "{\"stages\": [\n  {\"key\": }\n]}"));
    let refused = workspace.expect(&["journey", "save", &broken.to_string_lossy()], None, 2);
    assert!(
        stderr(&refused).contains("broken.json:2"),
        "{}",
        stderr(&refused)
    );
    let good = workspace.path("good.json");
    ok(std::fs::write(
        &good,
        r#"{"stages": [{"key": "onboarding", "name": {"en": "Onboarding", "ja": "オンボーディング"}, "target_days": 30},
 {"key": "value", "name": {"en": "Value"}}]}"#,
    ));
    let saved = workspace.expect(&["journey", "save", &good.to_string_lossy()], None, 0);
    assert!(stdout(&saved).contains("version 1"), "{}", stdout(&saved));
    let report = workspace.expect(&["journey", "report", "--json"], None, 0);
    let report: serde_json::Value = ok(serde_json::from_str(&stdout(&report)));
    let counts: Vec<(String, i64)> = report["stages"]
        .as_array()
        .map(|stages| {
            stages
                .iter()
                .map(|s| {
                    (
                        s["stage"].as_str().unwrap_or_default().to_owned(),
                        s["accounts"].as_i64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        counts,
        [("onboarding".to_owned(), 2), ("value".to_owned(), 1)]
    );
}

#[test]
fn a_shift_jis_feedback_export_imports_once_with_bad_rows_named() {
    let workspace = Workspace::new();
    let accounts = workspace.path("accounts.csv");
    ok(std::fs::write(
        &accounts,
        "external_id,name\nK-1,三河屋\nK-2,Beta\n",
    ));
    workspace.expect(
        &["import", "accounts", &accounts.to_string_lossy()],
        None,
        0,
    );
    let file = workspace.path("要望.csv");
    // The second data row names an unknown account: line 3 (CRLF), nothing recorded.
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(
        "番号,顧客ID,要望,日付\r\nF-1,K-1,CSV出力が遅くて困っています,２０２６-０５-０１\r\nF-2,K-9,ダークモードがほしい,2026-05-02\r\n",
    );
    ok(std::fs::write(&file, bytes));
    let output = workspace.expect(&["feedback", "import", &file.to_string_lossy()], None, 2);
    assert!(
        stderr(&output).contains("要望.csv:3: column account: no account with external id 'K-9'"),
        "{}",
        stderr(&output)
    );
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(
        "番号,顧客ID,要望,日付\r\nF-1,K-1,CSV出力が遅くて困っています,２０２６-０５-０１\r\nF-2,K-2,Please add a dark mode,2026-05-02\r\n",
    );
    ok(std::fs::write(&file, bytes));
    let output = workspace.expect(&["feedback", "import", &file.to_string_lossy()], None, 0);
    assert!(
        stdout(&output).contains("2 feedback items recorded, 0 already there"),
        "{}",
        stdout(&output)
    );
    let again = workspace.expect(&["feedback", "import", &file.to_string_lossy()], None, 0);
    assert!(
        stdout(&again).contains("0 feedback items recorded, 2 already there"),
        "{}",
        stdout(&again)
    );
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let items = ok(store.feedback(&Actor::system().read(), &Default::default()));
    assert_eq!(items.len(), 2);
    drop(store);
    let requests = workspace.expect(&["feedback", "requests", "--csv"], None, 0);
    assert!(
        stdout(&requests).starts_with("id,title,status"),
        "{}",
        stdout(&requests)
    );
    let secret = workspace.expect(&["feedback", "webhook-secret"], None, 0);
    assert!(stdout(&secret).trim().len() >= 40);
    let list = workspace.expect(&["surveys", "list"], None, 0);
    assert!(
        stdout(&list).contains("nps\tnps\tactive"),
        "{}",
        stdout(&list)
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly_not_with_a_panic() {
    use std::io::{BufRead, BufReader};
    let workspace = Workspace::new();
    let mut file = String::from("external_id,name\n");
    for index in 0..4000 {
        file.push_str(&format!("A-{index},Account number {index}\n"));
    }
    workspace.import("accounts", "accounts.csv", &file);
    // `mikawaya health | head -1`: more than a pipe's buffer of output, read one line.
    let mut child = ok(workspace
        .command()
        .arg("health")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn());
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        ok(BufReader::new(out).read_line(&mut first));
    }
    let output = ok(child.wait_with_output());
    assert!(first.starts_with("A-"), "{first}");
    let errors = stderr(&output);
    assert!(!errors.contains("panicked"), "{errors}");
    assert_ne!(output.status.code(), Some(101), "{errors}");
}

#[tokio::test]
async fn sigterm_while_the_daily_run_works_stops_the_server_promptly_and_cleanly() {
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "80"], None, 0);
    let log = workspace.path("server.log");
    let mut command = workspace.command();
    command.env("RUST_LOG", "info");
    let mut child = ok(command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(ok(std::fs::File::create(&log)))
        .spawn());
    let mut line = String::new();
    let stdout_pipe = child.stdout.take().ok_or("no stdout");
    ok(std::io::BufRead::read_line(
        &mut std::io::BufReader::new(ok(stdout_pipe)),
        &mut line,
    ));
    let base = line
        .trim()
        .trim_start_matches("Mikawaya is running at ")
        .trim_end_matches('/')
        .to_owned();
    let ready = ok(client().get(format!("{base}/readyz")).send().await);
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ok(ready.json().await);
    assert_eq!(body["status"], "ready", "{body}");

    // The first start's daily run (signals, metric backfills, plans, journey) begins at
    // once; stop the server once it is under way.
    let started = std::time::Instant::now();
    while !ok(std::fs::read_to_string(&log)).contains("account signals refreshed")
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let signalled = std::time::Instant::now();
    let kill = ok(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status());
    assert!(kill.success());
    let mut status = None;
    while signalled.elapsed() < std::time::Duration::from_secs(30) {
        if let Some(done) = ok(child.try_wait()) {
            status = Some(done);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "still running 30 s after SIGTERM:\n{}",
            ok(std::fs::read_to_string(&log))
        );
    };
    let text = ok(std::fs::read_to_string(&log));
    assert!(status.success(), "{status:?}\n{text}");
    assert!(text.contains("mikawaya stopped"), "{text}");
    // Nothing runs after it says it stopped.
    let after = text.split("mikawaya stopped").nth(1).unwrap_or("");
    assert!(!after.contains("INFO"), "{after}");
    // The data dir is whole: the next command opens it and reads the book.
    let book = workspace.expect(&["book"], None, 0);
    assert!(!stdout(&book).is_empty());
}
