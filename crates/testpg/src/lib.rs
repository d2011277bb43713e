//! A real PostgreSQL 15 server for the tests (Debian's `postgresql-15` binaries), started
//! as an unprivileged user (`postgres` when the tests run as root, since PostgreSQL refuses
//! root) on 127.0.0.1 in a temporary directory, with `fsync=off`.
//!
//! [`TestPostgres::start`] gives a test a server of its own, stopped when dropped.
//! [`fresh_database`] gives it an empty database on one server shared by the whole test
//! process; a watchdog process stops that server and removes its folder once the test
//! process has ended, however it ends.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's `postgresql-15` package puts the server programs.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server of its own.
#[derive(Debug)]
pub struct TestPostgres {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    /// Stop the server and remove the folder on drop (not for the shared server).
    owned: bool,
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

/// The command line that runs a PostgreSQL program (as `postgres` when we are root).
fn program_line(name: &str) -> Vec<String> {
    let path = Path::new(BIN).join(name).display().to_string();
    if is_root() {
        vec![
            "runuser".into(),
            "-u".into(),
            "postgres".into(),
            "--".into(),
            path,
        ]
    } else {
        vec![path]
    }
}

fn program(name: &str) -> Command {
    let line = program_line(name);
    let mut command = Command::new(&line[0]);
    command.args(&line[1..]);
    command
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
    /// Starts a server of its own (initdb, then pg_ctl start on a free port).
    pub fn start() -> Self {
        let dir = ok(
            ok(tempfile::Builder::new().prefix("mikawaya-pg-").tempdir())
                .keep()
                .canonicalize(),
        );
        ok(std::fs::set_permissions(
            &dir,
            std::fs::Permissions::from_mode(0o777),
        ));
        let data = dir.join("data");
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
                "-h 127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=300",
                dir.display()
            ))
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "start"]);
        run(start);
        Self {
            dir,
            data,
            port,
            owned: true,
        }
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = ok(postgres::Client::connect(&self.url(), postgres::NoTls));
        ok(client.batch_execute(&format!("CREATE DATABASE {name}")));
        self.url_of(&name)
    }

    /// Stops the server at once (as a crash would).
    pub fn stop(&self) {
        let mut stop = program("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.owned {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The server shared by this test process, started on first use; a watchdog stops it
/// when the process ends.
pub fn shared() -> &'static TestPostgres {
    static SHARED: OnceLock<TestPostgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut server = TestPostgres::start();
        server.owned = false;
        let stop = program_line("pg_ctl").join(" ");
        // Started in the background by a shell that exits at once (we wait for it), so
        // the watchdog outlives this process; with output streams of its own, since the
        // test harness waits for the ones it gave us to close.
        let script = format!(
            "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop} -D '{data}' -m immediate -w stop; rm -rf '{dir}') >/dev/null 2>&1 &",
            pid = std::process::id(),
            data = server.data.display(),
            dir = server.dir.display(),
        );
        let started = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(ok(started).success(), "the watchdog did not start");
        server
    })
}

/// An empty database on the shared server, for one test.
pub fn fresh_database() -> String {
    shared().create_database()
}
