//! `kill -9` of the server during an import leaves the whole file or none of it.

use crate::util::{Workspace, client, ok};
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;

const ROWS: usize = 60_000;

fn big_csv() -> String {
    let mut csv = String::from("external_id,name,mrr,renewal_date,stage,tier\n");
    for index in 0..ROWS {
        csv.push_str(&format!(
            "K-{index},Crash Test {index},{},2026-0{}-15,adoption,low\n",
            index % 900,
            1 + index % 9
        ));
    }
    csv
}

async fn account_count(workspace: &Workspace) -> u64 {
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    ok(store.count_accounts(&Actor::system().read(), &Default::default()))
}

fn token(workspace: &Workspace) -> String {
    let output = workspace.expect(
        &["token", "create", "--name", "crash", "--scope", "write"],
        None,
        0,
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn killing_the_server_mid_import_leaves_all_or_nothing() {
    let csv = big_csv();
    // An undisturbed import in its own data dir gives the time the whole request takes.
    let timing = Workspace::new();
    let timing_token = token(&timing);
    let server = timing.serve();
    let started = std::time::Instant::now();
    let reply = ok(client()
        .post(format!("{}/api/v1/import/accounts", server.base))
        .bearer_auth(&timing_token)
        .body(csv.clone())
        .send()
        .await);
    let full = started.elapsed();
    assert_eq!(reply.status(), 200);
    drop(server);
    assert_eq!(account_count(&timing).await, ROWS as u64);

    // Now kill the server at points spread over that time, parsing and writing alike.
    let workspace = Workspace::new();
    let token = token(&workspace);
    let mut outcomes = Vec::new();
    for share in [0.3, 0.6, 0.8, 0.9, 0.95, 0.99] {
        let mut server = workspace.serve();
        let url = format!("{}/api/v1/import/accounts", server.base);
        let import = tokio::spawn(
            client()
                .post(url)
                .bearer_auth(&token)
                .body(csv.clone())
                .send(),
        );
        tokio::time::sleep(full.mul_f64(share)).await;
        ok(server.child.kill());
        ok(server.child.wait());
        let acknowledged = matches!(import.await, Ok(Ok(ref response)) if response.status() == 200);
        let count = account_count(&workspace).await;
        eprintln!("killed at {share} of {full:?}: {count} rows, acknowledged: {acknowledged}");
        assert!(
            count == 0 || count == ROWS as u64,
            "after a kill at {share} of {full:?} the store holds {count} of {ROWS} rows"
        );
        assert!(
            !acknowledged || count == ROWS as u64,
            "an acknowledged import was lost"
        );
        outcomes.push(count);
        if count == ROWS as u64 {
            break;
        }
    }
    eprintln!("outcomes: {outcomes:?}");
}

/// The events `events rebuild` finds in the log.
fn logged_events(workspace: &Workspace) -> u64 {
    let output = workspace.expect(&["events", "rebuild"], None, 0);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.split("from ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {text}"))
}

#[test]
fn killing_an_events_import_leaves_all_of_the_file_or_none() {
    const EVENTS: usize = 200_000;
    let mut file = String::with_capacity(EVENTS * 160);
    for index in 0..EVENTS {
        file.push_str(&format!(
            "{{\"type\":\"track\",\"messageId\":\"k9-{index}\",\"userId\":\"u{}\",\"event\":\"Report Run\",\"timestamp\":\"2026-01-{:02}T10:00:00Z\",\"context\":{{\"groupId\":\"ACME-{}\"}}}}\n",
            index % 500,
            1 + index % 28,
            index % 50
        ));
    }
    let timing = Workspace::new();
    let path = timing.path("events.ndjson");
    ok(std::fs::write(&path, &file));
    let path = path.to_string_lossy().to_string();
    let started = std::time::Instant::now();
    timing.expect(&["import", "events", &path], None, 0);
    let full = started.elapsed();
    assert_eq!(logged_events(&timing), EVENTS as u64);

    let workspace = Workspace::new();
    let mut outcomes = Vec::new();
    for share in [0.2, 0.4, 0.6, 0.8, 0.9, 0.97] {
        let mut child = ok(workspace
            .command()
            .args(["import", "events", &path])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn());
        std::thread::sleep(full.mul_f64(share));
        let finished = matches!(child.try_wait(), Ok(Some(status)) if status.success());
        let _ = child.kill();
        let _ = child.wait();
        let count = logged_events(&workspace);
        eprintln!("killed at {share} of {full:?}: {count} events in the log");
        assert!(
            count == 0 || count == EVENTS as u64,
            "after a kill at {share} of {full:?} the log holds {count} of {EVENTS} events"
        );
        assert!(
            !finished || count == EVENTS as u64,
            "a finished import was lost"
        );
        outcomes.push(count);
        if count == EVENTS as u64 {
            break;
        }
    }
    eprintln!("outcomes: {outcomes:?}");
    // Whatever happened, importing the file once more gives exactly the file.
    workspace.expect(&["import", "events", &path], None, 0);
    assert_eq!(logged_events(&workspace), EVENTS as u64);
}
