//! The PostgreSQL backend against a real PostgreSQL 15 server, started here as an
//! unprivileged user (`postgres` when the tests run as root) on 127.0.0.1 in a temporary
//! directory: its migrations, applied once when three nodes connect at the same time.

use mikawaya_store::StoreError;
use mikawaya_store::postgresql::PostgresStore;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server of its own, stopped when dropped.
pub struct TestPostgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
}

fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| panic!("{error:?}"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A PostgreSQL program, run as `postgres` when the tests run as root (it refuses root).
fn program(name: &str) -> Command {
    let path = Path::new(BIN).join(name);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(mut command: Command) {
    let output = ok(command.output());
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TestPostgres {
    pub fn start() -> Self {
        let dir = ok(tempfile::tempdir());
        ok(std::fs::set_permissions(
            dir.path(),
            std::fs::Permissions::from_mode(0o777),
        ));
        let data = dir.path().join("data");
        let mut initdb = program("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync");
        run(initdb);
        let port = ok(std::net::TcpListener::bind("127.0.0.1:0"))
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(0);
        let mut start = program("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-h 127.0.0.1 -p {port} -k {} -c fsync=off",
                dir.path().display()
            ))
            .arg("-l")
            .arg(dir.path().join("server.log"))
            .args(["-w", "start"]);
        run(start);
        Self {
            _dir: dir,
            data,
            port,
        }
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let mut stop = program("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

#[test]
fn three_nodes_connecting_at_once_apply_the_migrations_once() {
    let server = TestPostgres::start();
    let url = server.url();
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::connect(&url))
        })
        .collect();
    let stores: Vec<PostgresStore> = nodes.into_iter().map(|node| ok(ok(node.join()))).collect();
    for store in &stores {
        let version = ok(store.schema_version());
        assert!(version.is_current(), "{version:?}");
        assert!(version.known >= 1);
    }
    let mut client = ok(postgres::Client::connect(&url, postgres::NoTls));
    let rows = ok(client.query(
        "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version",
        &[],
    ));
    let recorded: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let known = i64::from(ok(stores[0].schema_version()).known);
    assert_eq!(recorded, (1..=known).map(|v| (v, 1)).collect::<Vec<_>>());
    // The schema is there: the customer model's tables take rows.
    ok(client.execute(
        "INSERT INTO partners (name, created_at) VALUES ('Acme Partners', '2026-01-01T00:00:00Z')",
        &[],
    ));
    // A fourth node finds nothing to do.
    ok(PostgresStore::connect(&url));
    let count: i64 = ok(client.query_one("SELECT count(*) FROM schema_migrations", &[])).get(0);
    assert_eq!(count, known);
}

#[test]
fn a_database_newer_than_the_build_is_refused_and_bad_urls_are_named() {
    let server = TestPostgres::start();
    let store = ok(PostgresStore::connect(&server.url()));
    let known = i64::from(ok(store.schema_version()).known);
    let mut client = ok(postgres::Client::connect(&server.url(), postgres::NoTls));
    ok(client.execute(
        "INSERT INTO schema_migrations (version) VALUES ($1)",
        &[&(known + 1)],
    ));
    match PostgresStore::connect(&server.url()) {
        Err(StoreError::SchemaTooNew { found, known: k }) => {
            assert_eq!((found, k), (known + 1, known));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let readiness = ok(store.schema_version());
    assert!(!readiness.is_current());

    match PostgresStore::connect("mysql://nowhere") {
        Err(StoreError::Invalid(invalid)) => {
            assert_eq!(invalid.field, "database_url", "{invalid:?}");
        }
        other => panic!("expected an invalid URL, got {other:?}"),
    }
}
