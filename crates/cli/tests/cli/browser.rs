//! The web app in a real browser: `tests/browser/e2e.mjs` drives headless Chromium
//! (Playwright through npm's playwright-core) against the real server holding the demo
//! company. Screenshots of the main pages go to `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium` (Debian `chromium`) and `npm ci --prefix tests/browser`;
//! `.ci/run` installs both when missing.

use crate::listeners::{SmtpListener, wait_until};
use crate::util::{Workspace, ok, stdout};
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// npm's oidc-provider on a free port, killed when dropped.
struct OidcProvider {
    child: std::process::Child,
    issuer: String,
}

impl OidcProvider {
    fn start(scripts: &std::path::Path, redirect_uri: &str) -> OidcProvider {
        use std::io::BufRead;
        let mut child = ok(Command::new("node")
            .arg(scripts.join("oidc-provider.mjs"))
            .env("REDIRECT_URI", redirect_uri)
            .env("CLIENT_ID", "mikawaya")
            .env("CLIENT_SECRET", "a-client-secret-for-the-test")
            .stdout(std::process::Stdio::piped())
            // Its log stays beside the screenshots for when a sign-on fails.
            .stderr(ok(std::fs::File::create(
                repo().join("target/oidc-provider.log"),
            )))
            .spawn());
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let mut out = std::io::BufReader::new(out);
            ok(out.read_line(&mut line));
            // Whatever it prints later is read, so it never writes to a closed pipe.
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        }
        let issuer = line.trim().to_owned();
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "oidc-provider did not start: {line}"
        );
        OidcProvider { child, issuer }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_web_app_works_in_headless_chromium() {
    let scripts = repo().join("tests/browser");
    assert!(
        scripts.join("node_modules/playwright-core").exists(),
        "browser test dependencies missing: run `npm ci --prefix tests/browser` (bash .ci/run does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} missing: install Debian's chromium (bash .ci/run does)"
    );
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "120"], None, 0);
    // partner1 belongs to PTN-1; pick an account that is not theirs.
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let read = Actor::system().read();
    let partners = ok(store.list_partners(&read));
    let ptn1 = partners
        .iter()
        .find(|p| {
            p.external_id
                .as_ref()
                .is_some_and(|e| e.as_str() == "PTN-1")
        })
        .map(|p| p.id);
    let foreign = ok(store.all_accounts(&read))
        .into_iter()
        .find(|a| a.partner_id.is_some() && a.partner_id != ptn1)
        .map(|a| a.id.to_string())
        .unwrap_or_else(|| panic!("the demo has accounts of other partners"));
    // A Japanese-speaking customer's contact, not surveyed in the last 90 days, on an
    // account no detractor playbook ran for lately: they will get an emailed survey.
    let recent = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90);
    let resting: std::collections::HashSet<_> = ok(store.survey_sends(&read, recent))
        .into_iter()
        .map(|s| s.contact_id)
        .collect();
    let followed: std::collections::HashSet<_> = ok(store.list_runs(&read, &Default::default()))
        .into_iter()
        .filter(|r| r.playbook == "detractor-recovery")
        .map(|r| r.account_id)
        .collect();
    let japanese: std::collections::HashMap<_, _> = ok(store.all_accounts(&read))
        .into_iter()
        .filter(|a| {
            !mikawaya_domain::account::is_churned(a.stage.as_ref())
                && !followed.contains(&a.id)
                && a.custom_fields.get("language").is_some_and(|l| {
                    matches!(l, mikawaya_domain::custom_field::CustomValue::Enum(v) if v == "ja")
                })
        })
        .map(|a| (a.id, a))
        .collect();
    let respondent = ok(store.all_contacts(&read))
        .into_iter()
        .find(|c| {
            c.email.is_some() && !resting.contains(&c.id) && japanese.contains_key(&c.account_id)
        })
        .unwrap_or_else(|| panic!("the demo has a Japanese contact to survey"));
    drop(store);

    let smtp = SmtpListener::start(Duration::ZERO);
    let smtp_url = smtp.url();
    // A real OpenID provider (npm's oidc-provider) for single sign-on; the server's port
    // is chosen first, since the provider must know the callback.
    let port = ok(std::net::TcpListener::bind("127.0.0.1:0"))
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://127.0.0.1:{port}");
    let provider = OidcProvider::start(&scripts, &format!("{base}/login/sso/callback"));
    let listen = format!("127.0.0.1:{port}");
    let mut command = workspace.command();
    command.envs([
        ("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "0"),
        ("MIKAWAYA_BASE_URL", base.as_str()),
        ("MIKAWAYA_OIDC_ISSUER", provider.issuer.as_str()),
        ("MIKAWAYA_OIDC_CLIENT_ID", "mikawaya"),
        (
            "MIKAWAYA_OIDC_CLIENT_SECRET",
            "a-client-secret-for-the-test",
        ),
        (
            "MIKAWAYA_OIDC_GROUPS",
            "mikawaya-admins=admin,cs-leaders=leader",
        ),
    ]);
    let server = crate::util::Workspace::serve_command_at(command, &listen);
    assert_eq!(server.base, base);
    // Sent by email through the outbox, received by a real SMTP listener.
    let sent = workspace.expect(
        &[
            "surveys",
            "send",
            "nps",
            "--contact",
            &respondent.id.to_string(),
            "--base-url",
            &server.base,
        ],
        None,
        0,
    );
    assert!(stdout(&sent).contains("\tsent"), "{}", stdout(&sent));
    let mut flush = workspace.command();
    let flushed = ok(flush
        .env("MIKAWAYA_SMTP_URL", &smtp_url)
        .args(["outbox", "flush"])
        .output());
    assert!(
        flushed.status.success(),
        "{}",
        String::from_utf8_lossy(&flushed.stderr)
    );
    let address = respondent
        .email
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || smtp
            .mails()
            .iter()
            .any(|m| m.to.iter().any(|t| t.contains(&address)))),
        "no survey email reached the SMTP listener"
    );
    let mail = smtp
        .mails()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t.contains(&address)))
        .unwrap_or_else(|| panic!("no mail"));
    let body = mail.body();
    assert!(
        body.contains("様"),
        "the survey email is in Japanese: {body}"
    );
    let survey_url = body
        .split_whitespace()
        .find(|word| word.contains("/s/sv_"))
        .unwrap_or_else(|| panic!("no survey link in {body}"))
        .to_owned();
    let shots = repo().join("target/screenshots");
    let output = ok(Command::new("node")
        .arg(scripts.join("e2e.mjs"))
        .env("BASE", &server.base)
        .env("EMAIL", "admin@mikawaya.example")
        .env("PASSWORD", "mikawaya-demo")
        .env("CSM_EMAIL", "csm1@mikawaya.example")
        .env("LEADER_EMAIL", "leader@mikawaya.example")
        .env("PARTNER_EMAIL", "partner1@mikawaya.example")
        .env("PARTNER_PASSWORD", "mikawaya-demo")
        .env("FOREIGN_ACCOUNT", &foreign)
        .env("SURVEY_URL", &survey_url)
        .env("SURVEY_ACCOUNT", respondent.account_id.to_string())
        .env("SHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output());
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "browser tests failed:\n{log}");
    for page in [
        "login",
        "portfolio",
        "account",
        "tasks",
        "dashboards",
        "settings",
        "portfolio-ja",
        "account-ja",
        "partner-404",
        "today",
        "today-ja-390",
        "portfolio-ja-390",
        "account-ja-390",
        "tasks-ja-390",
        "dashboards-ja-390",
        "settings-ja-390",
        "journey",
        "journey-ja-390",
        "voice",
        "voice-ja-390",
        "survey-ja-390",
        "feedback-ja-390",
        "requests-ja-390",
        "request",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
}
