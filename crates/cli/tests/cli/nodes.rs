//! Three servers on one PostgreSQL database (a real PostgreSQL 15 started by the test),
//! each with its own data dir that names the database in its settings file: clients send
//! `/v1/batch` round-robin while one node is killed with SIGKILL and started again; every
//! acknowledged message is stored once and read back from every node; the daily pipeline
//! runs on one node; each email the day queued reaches a real SMTP listener once.

use crate::listeners::SmtpListener;
use crate::util::{Server, Workspace, client, ok, stdout, stored_ids};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SECRET: &str = "a shared secret for every node";

/// A workspace whose data dir keeps its store and events in the database at `url`.
fn node_workspace(url: &str) -> Workspace {
    let workspace = Workspace::new();
    ok(std::fs::create_dir_all(workspace.data_dir()));
    ok(std::fs::write(
        workspace.data_dir().join("mikawaya.toml"),
        format!("database_url = \"{url}\"\n"),
    ));
    workspace
}

fn last_line(output: &std::process::Output) -> String {
    stdout(output).lines().last().unwrap_or("").to_owned()
}

/// A server process whose log goes to a file.
struct Node {
    server: Server,
    log: PathBuf,
}

fn start(workspace: &Workspace, smtp: &SmtpListener, log_name: &str) -> Node {
    let log = workspace.path(log_name);
    let mut command = workspace.command();
    command
        .env("RUST_LOG", "info")
        .env("MIKAWAYA_SMTP_URL", smtp.url())
        .env("MIKAWAYA_SECRET", SECRET)
        .env("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "1")
        .env("MIKAWAYA_OUTBOX_LEASE_SECONDS", "2");
    let server = Workspace::serve_logged(
        command,
        "127.0.0.1:0",
        Stdio::from(ok(std::fs::File::create(&log))),
    );
    Node { server, log }
}

/// How many times the nodes' logs say the daily pipeline ran.
fn daily_runs(logs: &[PathBuf]) -> usize {
    logs.iter()
        .map(|log| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches("daily pipeline ran")
                .count()
        })
        .sum()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn batch(number: usize) -> (Vec<String>, serde_json::Value) {
    let ids: Vec<String> = (0..50).map(|n| format!("b{number}-m{n}")).collect();
    let messages: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"type": "track", "messageId": id, "userId": format!("user-{}", number % 7), "event": "Node Test"}))
        .collect();
    (
        ids,
        serde_json::json!({"batch": messages, "context": {"groupId": "NODES-1"}}),
    )
}

/// One number from the database (the PostgreSQL client blocks: off the runtime).
/// Usage events stored (in blocks).
const EVENTS: &str = "SELECT COALESCE(sum(count), 0)::bigint FROM usage_event_blocks";

async fn count(url: &str, sql: &'static str) -> i64 {
    let url = url.to_owned();
    ok(tokio::task::spawn_blocking(move || {
        let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
        ok(client.query_one(sql, &[])).get::<_, i64>(0)
    })
    .await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgresql_store_each_message_once_and_run_the_day_once() {
    // The PostgreSQL client blocks: off the test's runtime.
    let url = ok(tokio::task::spawn_blocking(mikawaya_testpg::fresh_database).await);
    let nodes: Vec<Workspace> = (0..3).map(|_| node_workspace(&url)).collect();
    // A company in the database, with the renewal playbook that emails its contacts.
    let setup = &nodes[0];
    setup.expect(&["demo", "--accounts", "150", "--no-usage"], None, 0);
    setup.expect(&["playbooks", "install-starters"], None, 0);
    for name in crate::playbooks::OTHER_STARTERS {
        setup.expect(&["playbooks", "disable", name], None, 0);
    }
    setup.import(
        "accounts",
        "accounts.csv",
        "external_id,name\nNODES-1,Nodes Co\n",
    );
    let key = last_line(&setup.expect(&["writekey", "create", "--name", "nodes"], None, 0));
    let token = last_line(&setup.expect(
        &["token", "create", "--name", "reader", "--scope", "read"],
        None,
        0,
    ));

    let smtp = SmtpListener::start(Duration::from_millis(20));
    let mut running: Vec<Node> = nodes
        .iter()
        .enumerate()
        .map(|(n, workspace)| start(workspace, &smtp, &format!("node{n}.log")))
        .collect();
    let mut logs: Vec<PathBuf> = running.iter().map(|node| node.log.clone()).collect();
    // The day's pipeline: one node runs it, the others see the lease and leave it.
    assert!(
        wait_until(Duration::from_secs(120), || daily_runs(&logs) >= 1),
        "no node ran the daily pipeline"
    );

    // Clients send round-robin; the second node is killed at batch 40 and started again
    // at batch 80; a batch a node did not answer goes to the next one.
    let mut acknowledged: Vec<String> = Vec::new();
    let mut bases: Vec<Option<String>> = running
        .iter()
        .map(|n| Some(n.server.base.clone()))
        .collect();
    let http = client();
    let mut turn = 0;
    for number in 0..120 {
        if number == 40 {
            ok(running[1].server.child.kill());
            ok(running[1].server.child.wait());
            bases[1] = None;
        }
        if number == 80 {
            running[1] = start(&nodes[1], &smtp, "node1-again.log");
            logs.push(running[1].log.clone());
            bases[1] = Some(running[1].server.base.clone());
        }
        let (ids, body) = batch(number);
        let mut sent = false;
        for _ in 0..6 {
            turn += 1;
            let Some(base) = bases[turn % 3].clone() else {
                // The killed node's address: the client's connection is refused.
                continue;
            };
            let reply = http
                .post(format!("{base}/v1/batch"))
                .basic_auth(&key, Some(""))
                .json(&body)
                .send()
                .await;
            if reply.is_ok_and(|reply| reply.status() == 200) {
                sent = true;
                break;
            }
        }
        assert!(sent, "batch {number} reached no node");
        acknowledged.extend(ids);
    }
    assert_eq!(acknowledged.len(), 6000);

    // Every node reads every acknowledged message, once, within 2 seconds.
    let account_page: serde_json::Value = ok(ok(client()
        .get(format!(
            "{}/api/v1/accounts?external_id=NODES-1",
            running[0].server.base
        ))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    let account = account_page["data"][0]["id"].as_i64().unwrap_or_default();
    let expected: BTreeSet<String> = acknowledged.iter().cloned().collect();
    for node in &running {
        let started = Instant::now();
        let stored = loop {
            let stored = stored_ids(&node.server.base, &token, account).await;
            if stored.len() >= expected.len() || started.elapsed() > Duration::from_secs(2) {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            stored.len(),
            expected.len(),
            "{}: stored once each",
            node.server.base
        );
        assert_eq!(
            stored.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{}",
            node.server.base
        );
    }

    // Each email the day queued reaches the listener once (a message in flight on the
    // killed node may go again, with the same Message-ID).
    let queued = count(
        &url,
        "SELECT count(*) FROM outbox WHERE channel = 'email' AND status <> 'suppressed'",
    )
    .await;
    assert!(queued >= 3, "the day queued {queued} emails");
    let by_key = || {
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        for mail in smtp.mails() {
            if let Some(key) = mail.header("X-Mikawaya-Idempotency-Key") {
                *by_key.entry(key).or_default() += 1;
            }
        }
        by_key
    };
    assert!(
        wait_until(Duration::from_secs(60), || by_key().len() as i64 >= queued),
        "{} of {queued} emails delivered",
        by_key().len()
    );
    let repeats: usize = by_key().values().map(|n| n - 1).sum();
    assert!(repeats <= 1, "{repeats} emails went twice: {:?}", by_key());
    // And the day ran once, whatever the restart.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        daily_runs(&logs),
        1,
        "the daily pipeline ran once across the nodes"
    );
    let events = count(&url, EVENTS).await;
    assert_eq!(events, 6000, "each acknowledged message is one row");
}

#[tokio::test]
async fn a_postgresql_store_is_backed_up_and_restored_with_its_usage_events() {
    let (url, target) = ok(tokio::task::spawn_blocking(|| {
        (
            mikawaya_testpg::fresh_database(),
            mikawaya_testpg::fresh_database(),
        )
    })
    .await);
    let workspace = node_workspace(&url);
    workspace.expect(&["demo", "--accounts", "30"], None, 0);
    let accounts = count(&url, "SELECT count(*) FROM accounts").await;
    let events = count(&url, EVENTS).await;
    assert!(events > 1000, "{events} demo events");
    let backup = workspace.path("backup");
    let backup_arg = backup.display().to_string();
    let taken = workspace.expect(&["backup", &backup_arg], None, 0);
    assert!(
        backup.join("postgresql.dump").is_file(),
        "{}",
        stdout(&taken)
    );
    // Restoring needs a database to fill; a database that is not empty is refused.
    let restored_dir = workspace.path("restored").display().to_string();
    let mut restore = workspace.command();
    let refused = ok(restore
        .args(["restore", &backup_arg, "--data-dir", &restored_dir])
        .output());
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    let mut restore = workspace.command();
    let refused = ok(restore
        .args(["restore", &backup_arg, "--data-dir", &restored_dir])
        .args(["--database-url", &url])
        .output());
    assert_eq!(refused.status.code(), Some(2), "a database with data");
    let mut restore = workspace.command();
    let done = ok(restore
        .args(["restore", &backup_arg, "--data-dir", &restored_dir])
        .args(["--database-url", &target])
        .output());
    assert!(done.status.success(), "{}", crate::util::stderr(&done));
    assert!(
        stdout(&done).contains(&format!("{accounts} accounts, {events} usage events")),
        "{}",
        stdout(&done)
    );
    assert_eq!(
        count(&target, "SELECT count(*) FROM accounts").await,
        accounts
    );
    assert_eq!(count(&target, EVENTS).await, events);
    // The restored data dir names its new database.
    let settings = ok(std::fs::read_to_string(
        workspace.path("restored").join("mikawaya.toml"),
    ));
    assert!(settings.contains(&target), "{settings}");
}

/// What the usage API answers: the event catalogue and two accounts' usage.
async fn usage_answers(base: &str, token: &str) -> Vec<serde_json::Value> {
    let get = |path: String| {
        let (base, token) = (base.to_owned(), token.to_owned());
        async move {
            let reply = ok(client()
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await);
            assert_eq!(reply.status(), 200, "{path}");
            ok(reply.json::<serde_json::Value>().await)
        }
    };
    let accounts = get("/api/v1/accounts?limit=2&sort=name".to_owned()).await;
    let mut answers = vec![get("/api/v1/events/catalog".to_owned()).await];
    for account in accounts["data"].as_array().into_iter().flatten() {
        let id = account["id"].as_i64().unwrap_or_default();
        answers.push(get(format!("/api/v1/accounts/{id}/usage?interval=week")).await);
    }
    answers.push(accounts);
    answers
}

#[tokio::test]
async fn the_demo_moves_up_to_postgresql_with_every_table_and_event_compared() {
    let url = ok(tokio::task::spawn_blocking(mikawaya_testpg::fresh_database).await);
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "40"], None, 0);
    let token = last_line(&workspace.expect(
        &["token", "create", "--name", "reader", "--scope", "read"],
        None,
        0,
    ));
    let before = {
        let server = workspace.serve();
        usage_answers(&server.base, &token).await
    };
    let moved = workspace.expect(&["migrate", "--to", &url], None, 0);
    let report = stdout(&moved);
    assert!(!report.contains("DIFFERENT"), "{report}");
    let accounts_line = report
        .lines()
        .find(|line| line.starts_with("accounts\t"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        accounts_line.starts_with("accounts\t40\t"),
        "{accounts_line}"
    );
    let events_line = report
        .lines()
        .find(|line| line.starts_with("usage_events\t"))
        .unwrap_or_default()
        .to_owned();
    let events: i64 = events_line
        .split('\t')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(events > 1000, "{events_line}");
    assert_eq!(count(&url, EVENTS).await, events);
    assert_eq!(count(&url, "SELECT count(*) FROM accounts").await, 40);
    // Served from PostgreSQL, the same token answers the same.
    ok(std::fs::write(
        workspace.data_dir().join("mikawaya.toml"),
        format!("database_url = \"{url}\"\n"),
    ));
    let after = {
        let server = workspace.serve();
        usage_answers(&server.base, &token).await
    };
    assert_eq!(before, after);
    // A database that is not empty is refused, and nothing changes.
    let again = workspace.expect(&["migrate", "--to", &url], None, 2);
    assert!(
        crate::util::stderr(&again).contains("not empty"),
        "{}",
        crate::util::stderr(&again)
    );
}

#[tokio::test]
async fn a_wrong_database_url_fails_at_once_with_what_postgresql_said() {
    let url = ok(tokio::task::spawn_blocking(mikawaya_testpg::fresh_database).await);
    let missing = format!("{}_missing", url);
    let workspace = Workspace::new();
    for (locale, words) in [
        ("en", "opening the store in the PostgreSQL database"),
        ("ja", "のストアを開けません"),
    ] {
        let started = Instant::now();
        let mut command = workspace.command();
        let failed = ok(command
            .env("MIKAWAYA_LOCALE", locale)
            .args(["health", "--database-url", &missing])
            .output());
        let said = crate::util::stderr(&failed);
        assert_eq!(failed.status.code(), Some(1), "{said}");
        assert!(said.contains(words), "{said}");
        assert!(
            said.contains("does not exist") && said.contains("_missing"),
            "the server's own words: {said}"
        );
        // Not r2d2's wait for a pool that can never fill (10 s, a log line per try).
        assert!(started.elapsed() < Duration::from_secs(5), "{said}");
        assert!(!said.contains("r2d2"), "{said}");
    }
    // A port with no server: the refusal, at once.
    let started = Instant::now();
    let mut command = workspace.command();
    let refused = ok(command
        .args([
            "health",
            "--database-url",
            "postgres://postgres@127.0.0.1:9/x",
        ])
        .output());
    let said = crate::util::stderr(&refused);
    assert!(said.contains("error connecting to server"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(5), "{said}");
}
