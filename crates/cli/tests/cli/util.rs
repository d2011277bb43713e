//! Running the binary and reporting failures with everything needed to understand them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}"),
    }
}

/// A temporary data dir and the binary.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: ok(tempfile::tempdir()),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mikawaya"));
        command
            .current_dir(self.dir.path())
            .env("MIKAWAYA_DATA_DIR", self.data_dir())
            // English whatever the machine's locale (tests that read Japanese set it).
            .env("MIKAWAYA_LOCALE", "en")
            .env("RUST_LOG", "warn");
        command
    }

    /// Runs with arguments and optional standard input.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command();
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ok(command.spawn());
        if let Some(mut input) = child.stdin.take() {
            ok(input.write_all(stdin.unwrap_or("").as_bytes()));
        }
        ok(child.wait_with_output())
    }

    /// Runs and expects an exit code; on mismatch prints the command, the dir and the output.
    pub fn expect(&self, args: &[&str], stdin: Option<&str>, code: i32) -> Output {
        let output = self.run(args, stdin);
        if output.status.code() != Some(code) {
            panic!(
                "mikawaya {}\nexpected exit {code}, got {:?}\ndir: {:?}\nstdout:\n{}\nstderr:\n{}",
                args.join(" "),
                output.status.code(),
                listing(self.dir.path()),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }

    /// Writes `content` to `name` in the workspace and imports it as `kind`, expecting success.
    pub fn import(&self, kind: &str, name: &str, content: &str) -> Output {
        let file = self.path(name);
        ok(std::fs::write(&file, content));
        self.expect(&["import", kind, &file.to_string_lossy()], None, 0)
    }

    /// A new admin API token (`token create --scope admin`).
    pub fn admin_token(&self) -> String {
        let output = self.expect(
            &["token", "create", "--name", "e2e", "--scope", "admin"],
            None,
            0,
        );
        stdout(&output).lines().last().unwrap_or("").to_owned()
    }

    /// Creates an admin user who can log in with `password`.
    pub fn admin_user(&self, email: &str, password: &str) {
        self.expect(
            &[
                "user",
                "create",
                "--email",
                email,
                "--role",
                "admin",
                "--password-stdin",
            ],
            Some(password),
            0,
        );
    }

    /// Starts `mikawaya serve` on a free port and returns it with its base URL.
    /// `metrics values --name NAME --as-of DATE --json`: (account external id, value), in
    /// the command's order.
    pub fn metric_values(&self, name: &str, as_of: &str) -> Vec<(String, serde_json::Value)> {
        let output = self.expect(
            &[
                "metrics", "values", "--name", name, "--as-of", as_of, "--json",
            ],
            None,
            0,
        );
        let rows: Vec<serde_json::Value> = ok(serde_json::from_str(&stdout(&output)));
        rows.into_iter()
            .map(|row| {
                (
                    row["account_external_id"].as_str().unwrap_or("").to_owned(),
                    row["value"].clone(),
                )
            })
            .collect()
    }

    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// Starts the server with extra environment variables.
    pub fn serve_with(&self, env: &[(&str, &str)]) -> Server {
        let mut command = self.command();
        command.envs(env.iter().copied());
        Self::serve_command(command)
    }

    /// Starts `mikawaya serve` from a prepared command (its data dir in the environment).
    pub fn serve_command(command: Command) -> Server {
        Self::serve_command_at(command, "127.0.0.1:0")
    }

    /// Starts `mikawaya serve` from a prepared command, listening on `listen`.
    pub fn serve_command_at(command: Command, listen: &str) -> Server {
        Self::serve_logged(command, listen, Stdio::null())
    }

    /// Starts `mikawaya serve` from a prepared command, listening on `listen`, its log
    /// (standard error) going to `log`.
    pub fn serve_logged(mut command: Command, listen: &str, log: Stdio) -> Server {
        let mut child = ok(command
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn());
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        ok(BufReader::new(stdout).read_line(&mut line));
        let base = line
            .trim()
            .trim_start_matches("Mikawaya is running at ")
            .trim_end_matches('/')
            .to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "unexpected first line: {line}"
        );
        Server { child, base }
    }
}

pub fn listing(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A running server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client for the tests.
pub fn client() -> reqwest::Client {
    ok(reqwest::Client::builder().build())
}

/// A day `days` from today (UTC), `YYYY-MM-DD`.
pub fn utc_day_in(days: i64) -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(days))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// A GET of the API with a bearer token, read as JSON.
pub async fn get_json(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> serde_json::Value {
    ok(ok(http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await)
    .json()
    .await)
}

/// All message ids stored for an account, by reading its raw events page by page.
pub async fn stored_ids(base: &str, token: &str, account_id: i64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}/api/v1/accounts/{account_id}/events?limit=1000&cursor={cursor}");
        let page: serde_json::Value = ok(ok(client().get(url).bearer_auth(token).send().await)
            .json()
            .await);
        ids.extend(
            page["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["message_id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    ids
}
