//! A full disk: the data dir lives on a 24 MiB tmpfs mounted in a private mount namespace
//! (`unshare --user --map-root-user --mount`, so the test needs no root), the server runs
//! on it, and the disk is filled and freed while it serves. Writes are refused with a 503
//! and a clear log, nothing half-written stays, and writes succeed again once there is room,
//! without a restart.

use crate::util::{Workspace, client, ok};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const SCRIPT: &str = r#"set -e
mount -t tmpfs -o size=24m tmpfs "$TINY"
cp -a "$SEED/." "$TINY/"
"$MIKAWAYA" --data-dir "$TINY" serve --listen 127.0.0.1:0 2>"$LOG" &
pid=$!
while read -r command; do
  case "$command" in
    fill) dd if=/dev/zero of="$TINY/filler" bs=64k 2>/dev/null || true; echo FILLED ;;
    free) rm -f "$TINY/filler"; echo FREED ;;
    stop) break ;;
  esac
done
kill "$pid"
wait "$pid" || true
"#;

#[tokio::test]
async fn a_full_disk_answers_503_with_a_clear_log_and_writes_resume_when_freed() {
    let workspace = Workspace::new();
    workspace.expect(&["user", "list"], None, 0);
    let token = workspace.admin_token();
    let output = workspace.expect(&["writekey", "create", "--name", "web"], None, 0);
    let key = crate::util::stdout(&output)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_owned();
    let tiny = workspace.path("tiny");
    ok(std::fs::create_dir_all(&tiny));
    let log = workspace.path("server.log");
    let mut shell = ok(Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT])
        .env("TINY", &tiny)
        .env("SEED", workspace.data_dir())
        .env("LOG", &log)
        .env("MIKAWAYA", env!("CARGO_BIN_EXE_mikawaya"))
        .env("RUST_LOG", "warn")
        .env_remove("MIKAWAYA_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn());
    let mut input = shell.stdin.take().unwrap_or_else(|| panic!("stdin"));
    let mut lines = BufReader::new(shell.stdout.take().unwrap_or_else(|| panic!("stdout"))).lines();
    let mut next_line = move || lines.next().and_then(Result::ok).unwrap_or_default();
    let first = next_line();
    let base = first
        .trim()
        .trim_start_matches("Mikawaya is running at ")
        .trim_end_matches('/')
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "the server did not start: {first} {:?}",
        std::fs::read_to_string(&log)
    );
    let http = client();
    let create = |n: usize| {
        http.post(format!("{base}/api/v1/accounts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": format!("Account {n} {}", "x".repeat(150)), "external_id": format!("DF-{n}")}))
            .send()
    };
    let batch = |n: usize| {
        let messages: Vec<serde_json::Value> = (0..100)
            .map(|i| serde_json::json!({"type": "track", "messageId": format!("df-{n}-{i}"), "userId": "u1",
                "event": "Report Run", "context": {"groupId": "DF-0"}, "properties": {"pad": "y".repeat(500)}}))
            .collect();
        http.post(format!("{base}/v1/batch"))
            .basic_auth(&key, Some(""))
            .json(&serde_json::json!({"batch": messages}))
            .send()
    };
    assert_eq!(ok(create(0).await).status(), 201);
    assert_eq!(ok(batch(0).await).status(), 200);

    ok(writeln!(input, "fill"));
    assert_eq!(next_line(), "FILLED");
    // The last pages of the disk may still take a few writes; then every write is a 503.
    let mut refused_account = None;
    for n in 1..2000 {
        let reply = ok(create(n).await);
        if reply.status() != 201 {
            refused_account = Some((n, reply.status(), ok(reply.text().await)));
            break;
        }
    }
    let (n, status, body) = refused_account.unwrap_or_else(|| panic!("the disk never filled"));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"disk_full\""), "{body}");
    let mut refused_batch = None;
    for b in 1..2000 {
        let reply = ok(batch(b).await);
        if reply.status() != 200 {
            refused_batch = Some((b, reply.status(), ok(reply.text().await)));
            break;
        }
    }
    let (b, status, body) = refused_batch.unwrap_or_else(|| panic!("the event log never filled"));
    assert_eq!(
        status,
        503,
        "{body}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("disk of the data dir is full"), "{logged}");
    assert!(!logged.contains("unreadable"), "{logged}");

    ok(writeln!(input, "free"));
    assert_eq!(next_line(), "FREED");
    // The refused writes go through now, each once.
    let again = ok(create(n).await);
    assert_eq!(again.status(), 201, "{}", ok(again.text().await));
    let again = ok(batch(b).await);
    assert_eq!(again.status(), 200, "{}", ok(again.text().await));
    let listed: serde_json::Value = ok(ok(http
        .get(format!("{base}/api/v1/accounts?external_id=DF-{n}"))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    // Every acknowledged batch is there exactly once: batches 0..b each add 100 events.
    let mut volume = 0;
    for _ in 0..100 {
        let catalog: serde_json::Value = ok(ok(http
            .get(format!("{base}/api/v1/events/catalog"))
            .bearer_auth(&token)
            .send()
            .await)
        .json()
        .await);
        volume = catalog
            .as_array()
            .and_then(|c| c.iter().find(|e| e["name"] == "Report Run"))
            .and_then(|e| e["volume"].as_u64())
            .unwrap_or(0);
        if volume == (b as u64 + 1) * 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(volume, (b as u64 + 1) * 100);
    ok(writeln!(input, "stop"));
    drop(input);
    ok(shell.wait());
}
