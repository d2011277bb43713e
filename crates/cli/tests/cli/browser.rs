//! The web app in a real browser: `tests/browser/e2e.mjs` drives headless Chromium
//! (Playwright through npm's playwright-core) against the real server holding the demo
//! company. Screenshots of the main pages go to `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium` (Debian `chromium`) and `npm ci --prefix tests/browser`;
//! `.ci/run` installs both when missing.

use crate::util::{Workspace, ok};
use mikawaya_domain::Actor;
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use std::path::PathBuf;
use std::process::Command;

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
    drop(store);

    let server = workspace.serve_with(&[("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "0")]);
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
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
}
