//! Playbooks end to end on the demo company: the renewal playbook fires for the accounts
//! renewing in the next 90 days, creates their owners' tasks, and its emails and webhooks
//! reach real listeners (SMTP, HTTP) with a working unsubscribe link and a valid
//! signature; and a server killed while sending delivers every message once after restart.

use crate::listeners::{SmtpListener, WebhookListener, wait_until};
use crate::util::{Workspace, client, ok, stdout};
use hmac::{Hmac, Mac};
use mikawaya_domain::Actor;
use mikawaya_domain::work::{Channel, MessageStatus};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::work::TaskFilter;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

const SECRET: &str = "test-secret-0123456789";
pub(crate) const OTHER_STARTERS: &[&str] = &[
    "onboarding-kickoff",
    "adoption-drop",
    "renewal-120",
    "renewal-60",
    "detractor-recovery",
    "champion-left",
    "expansion-signal",
    "relationship-nps",
    "support-ces",
    "onboarding-csat",
];

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// A demo company with only the renewal-90 starter enabled.
fn demo_with_renewal_playbook() -> Workspace {
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "150", "--no-usage"], None, 0);
    workspace.expect(&["playbooks", "install-starters"], None, 0);
    for name in OTHER_STARTERS {
        workspace.expect(&["playbooks", "disable", name], None, 0);
    }
    workspace
}

/// External ids of the accounts that pay today and renew within 90 days (the end of the
/// term in force today, else the account's renewal date).
fn renewing(store: &SqliteStore) -> BTreeSet<String> {
    let read = Actor::system().read();
    let day = today();
    let horizon = ok(day.checked_add(jiff::Span::new().days(90)));
    let subscriptions = ok(store.all_subscriptions(&read));
    ok(store.all_accounts(&read))
        .into_iter()
        .filter(|a| {
            let rows: Vec<_> = subscriptions
                .iter()
                .filter(|s| s.account_id == a.id)
                .collect();
            let in_force: Vec<_> = rows.iter().filter(|s| s.term.is_active_on(day)).collect();
            let paying = rows.is_empty() || in_force.iter().any(|s| s.mrr.amount() > 0.0);
            let renewal = in_force
                .iter()
                .filter_map(|s| s.term.end())
                .min()
                .or(a.renewal_date);
            paying && renewal.is_some_and(|r| r >= day && r <= horizon)
        })
        .filter_map(|a| a.external_id.map(|e| e.to_string()))
        .collect()
}

fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = ok(Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "v1={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[tokio::test]
async fn renewal_playbook_on_the_demo_reaches_owners_smtp_and_webhooks() {
    let workspace = demo_with_renewal_playbook();
    let hooks = WebhookListener::start();
    let smtp = SmtpListener::start(Duration::ZERO);
    // Version 2 of the starter adds a Slack-format webhook step.
    let mut spec: serde_json::Value = ok(serde_json::from_str(include_str!(
        "../../../playbooks/starter/renewal-90.json"
    )));
    if let Some(steps) = spec["steps"].as_array_mut() {
        steps.push(serde_json::json!({"kind": "webhook", "url": hooks.url(), "format": "slack",
            "text": {"en": "Renewal: {{account.name}} on {{account.renewal_date}}", "ja": "更新：{{account.name}}"}}));
    }
    let file = workspace.path("renewal-90.json");
    ok(std::fs::write(&file, spec.to_string()));
    let saved = workspace.expect(&["playbooks", "save", &file.display().to_string()], None, 0);
    assert!(
        stdout(&saved).contains("saved renewal-90 v2"),
        "{}",
        stdout(&saved)
    );

    let dry = workspace.expect(&["rules", "evaluate", "--dry-run", "--json"], None, 0);
    let dry: serde_json::Value = ok(serde_json::from_slice(&dry.stdout));
    let output = workspace.expect(&["rules", "evaluate", "--json"], None, 0);
    let report: serde_json::Value = ok(serde_json::from_slice(&output.stdout));
    assert_eq!(
        dry["fired"], report["fired"],
        "the dry run showed exactly what then fired"
    );

    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let read = Actor::system().read();
    let expected = renewing(&store);
    assert!(
        expected.len() >= 5,
        "the demo has renewals in the next 90 days: {expected:?}"
    );
    let fired = report["fired"].as_array().cloned().unwrap_or_default();
    let fired_ids: BTreeSet<String> = fired
        .iter()
        .filter_map(|f| f["account_external_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        fired_ids, expected,
        "fires for exactly the accounts renewing within 90 days"
    );
    assert!(
        fired
            .iter()
            .all(|f| f["playbook"] == "renewal-90" && f["version"] == 2)
    );
    let treated: BTreeSet<String> = fired
        .iter()
        .filter(|f| f["holdout"] == false)
        .filter_map(|f| f["account_external_id"].as_str().map(str::to_owned))
        .collect();

    // One task per treated account, for the account's owner.
    let accounts = ok(store.all_accounts(&read));
    let by_key: HashMap<String, &mikawaya_domain::account::Account> = accounts
        .iter()
        .filter_map(|a| a.external_id.as_ref().map(|e| (e.to_string(), a)))
        .collect();
    let tasks = ok(store.list_tasks(
        &read,
        &TaskFilter::default(),
        &mikawaya_store::PageRequest::first(1000),
    ))
    .data;
    assert_eq!(tasks.len(), treated.len());
    for key in &treated {
        let account = by_key[key];
        let task = tasks.iter().find(|t| t.account_id == account.id);
        let task = task.unwrap_or_else(|| panic!("no task for {key}"));
        assert_eq!(task.owner_id, account.owner_id, "{key}");
        assert!(
            task.title.as_str().contains(account.name.as_str()),
            "{}",
            task.title
        );
    }

    // Emails to each treated account's champions, one webhook per treated account.
    let contacts = ok(store.all_contacts(&read));
    let champions: BTreeSet<String> = contacts
        .iter()
        .filter(|c| c.role == Some(mikawaya_domain::contact::ContactRole::Champion))
        .filter(|c| {
            accounts.iter().any(|a| {
                a.id == c.account_id
                    && a.external_id
                        .as_ref()
                        .is_some_and(|e| treated.contains(e.as_str()))
            })
        })
        .filter_map(|c| c.email.as_ref().map(|e| e.to_string()))
        .collect();
    assert!(!champions.is_empty());
    let messages = ok(store.list_messages(&ok(mikawaya_domain::Actor::system().admin()), None));
    let emails = messages
        .iter()
        .filter(|m| m.channel == Channel::Email)
        .count();
    assert_eq!(emails, champions.len());
    drop(store);

    let token = workspace.admin_token();
    let server = workspace.serve_with(&[
        ("MIKAWAYA_SMTP_URL", &smtp.url()),
        ("MIKAWAYA_SECRET", SECRET),
        ("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "1"),
    ]);
    // The playbooks' emails (the CSMs' daily digests go out beside them).
    let playbook_mails = || -> Vec<crate::listeners::Mail> {
        smtp.mails()
            .into_iter()
            .filter(|m| {
                !m.header("X-Mikawaya-Idempotency-Key")
                    .is_some_and(|key| key.starts_with("digest"))
            })
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(60), || playbook_mails().len()
            >= champions.len()
            && hooks.hooks().len() >= treated.len()),
        "delivered {} of {} emails and {} of {} webhooks",
        playbook_mails().len(),
        champions.len(),
        hooks.hooks().len(),
        treated.len()
    );
    let mails = playbook_mails();
    let received: BTreeSet<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(received, champions);
    let ids: BTreeSet<Option<String>> = mails.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), mails.len(), "one Message-ID per email");
    for mail in &mails {
        // English, or (accounts whose language is Japanese) the Japanese subject, MIME-encoded.
        assert!(
            mail.header("Subject")
                .is_some_and(|s| s.contains(": your renewal on ") || s.contains("=?utf-8?b?")),
            "{:?}",
            mail.header("Subject")
        );
        assert!(
            mail.header("List-Unsubscribe")
                .is_some_and(|v| v.contains("/unsubscribe?email="))
        );
        assert_eq!(mail.header("MIME-Version").as_deref(), Some("1.0"));
        assert_eq!(
            mail.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
    }
    for hook in hooks.hooks() {
        let timestamp = hook
            .header("x-mikawaya-timestamp")
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            hook.header("x-mikawaya-signature"),
            Some(signature(SECRET, &timestamp, &hook.body).as_str())
        );
        assert_ne!(
            hook.header("x-mikawaya-signature"),
            Some(signature("wrong", &timestamp, &hook.body).as_str())
        );
        assert!(
            hook.header("idempotency-key")
                .is_some_and(|k| k.starts_with("renewal-90/v2/"))
        );
        let body: serde_json::Value = ok(serde_json::from_str(&hook.body));
        assert!(
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Renewal: ") || t.starts_with("更新："))
        );
    }

    // The unsubscribe link works (GET confirms, POST unsubscribes); a forged one does not.
    let link_of = |mail: &crate::listeners::Mail| {
        let body = mail.body();
        let link = body
            .lines()
            .find_map(|line| line.find("http://").map(|at| line[at..].trim().to_owned()))
            .filter(|url| url.contains("/unsubscribe?"))
            .unwrap_or_else(|| panic!("no unsubscribe link in {body}"));
        link.trim_start_matches("http://127.0.0.1:8080").to_owned()
    };
    let http = client();
    // A Japanese recipient's page is in Japanese, whatever their browser says.
    let japanese = mails
        .iter()
        .find(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains("=?utf-8?b?"))
        })
        .unwrap_or_else(|| panic!("no email to an account in Japanese"));
    let page = ok(http
        .get(format!("{}{}", server.base, link_of(japanese)))
        .header("accept-language", "en-US")
        .send()
        .await);
    assert_eq!(page.status(), 200);
    assert!(ok(page.text().await).contains("カスタマーサクセスからのメール配信を停止します"));
    let mail = mails
        .iter()
        .find(|m| {
            !m.header("Subject")
                .is_some_and(|s| s.contains("=?utf-8?b?"))
        })
        .unwrap_or_else(|| panic!("no email to an account in English"));
    assert_eq!(mail.from, "cs@mikawaya.example");
    let path = link_of(mail);
    let page = ok(http.get(format!("{}{path}", server.base)).send().await);
    assert_eq!(page.status(), 200);
    assert!(ok(page.text().await).contains(&mail.to[0]));
    let forged = path.replace("token=", "token=00");
    let refused = ok(http.post(format!("{}{forged}", server.base)).send().await);
    assert_eq!(refused.status(), 400);
    let done = ok(http.post(format!("{}{path}", server.base)).send().await);
    assert_eq!(done.status(), 200);
    assert!(ok(done.text().await).contains("You will not receive these emails any more."));

    // A later playbook email to that address is suppressed, visible in the dry run.
    let api = |path: &str| format!("{}/api/v1{path}", server.base);
    let saved = ok(http
        .post(api("/playbooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "renewal-thanks", "title": {"en": "Thanks"},
            "trigger": {"kind": "renewal_within", "days": 90},
            "steps": [{"kind": "email", "to": "champion", "subject": {"en": "Thank you"}, "body": {"en": "Thanks {{contact.name}}"}}]}))
        .send()
        .await);
    assert_eq!(saved.status(), 201);
    let evaluation: serde_json::Value = ok(ok(http
        .post(api("/rules/evaluate"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"dry_run": true}))
        .send()
        .await)
    .json()
    .await);
    let to_unsubscribed: Vec<&serde_json::Value> = evaluation["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["recipient"] == mail.to[0].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(!to_unsubscribed.is_empty());
    assert!(
        to_unsubscribed
            .iter()
            .all(|m| m["status"] == "suppressed" && m["reason"] == "unsubscribed"),
        "{to_unsubscribed:?}"
    );

    // The owners' inboxes over the API.
    let owner = by_key[treated.iter().next().map_or("", String::as_str)].owner_id;
    if let Some(owner) = owner {
        let inbox: serde_json::Value = ok(ok(http
            .get(api(&format!("/tasks?owner={owner}&status=open")))
            .bearer_auth(&token)
            .send()
            .await)
        .json()
        .await);
        let rows = inbox["data"].as_array().cloned().unwrap_or_default();
        assert!(!rows.is_empty());
        assert!(
            rows.iter()
                .all(|t| t["owner_id"] == owner.get() && t["status"] == "open")
        );
    }
    let sent: serde_json::Value = ok(ok(http
        .get(api("/outbox?status=sent"))
        .bearer_auth(&token)
        .send()
        .await)
    .json()
    .await);
    // The playbooks' messages (the CSMs' daily digests go out beside them).
    let from_playbooks = sent.as_array().map(|messages| {
        messages
            .iter()
            .filter(|m| {
                !m["idempotency_key"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("digest")
            })
            .count()
    });
    assert_eq!(from_playbooks, Some(champions.len() + treated.len()));
}

#[tokio::test]
async fn a_server_killed_while_sending_delivers_every_message_once_after_restart() {
    let workspace = demo_with_renewal_playbook();
    workspace.expect(&["rules", "evaluate", "--json"], None, 0);
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let keys: BTreeSet<String> = ok(store.list_messages(
        &ok(mikawaya_domain::Actor::system().admin()),
        Some(MessageStatus::Pending),
    ))
    .into_iter()
    .filter(|m| m.channel == Channel::Email)
    .map(|m| m.idempotency_key)
    .collect();
    drop(store);
    assert!(
        keys.len() >= 6,
        "enough messages to kill mid-way: {}",
        keys.len()
    );
    // A slow receiver, so the kill lands while messages are being sent.
    let smtp = SmtpListener::start(Duration::from_millis(150));
    let env = [
        ("MIKAWAYA_SMTP_URL", smtp.url()),
        ("MIKAWAYA_SECRET", SECRET.to_owned()),
        ("MIKAWAYA_OUTBOX_INTERVAL_SECONDS", "1".to_owned()),
        ("MIKAWAYA_OUTBOX_LEASE_SECONDS", "2".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = workspace.serve_with(&env);
    let third = keys.len() / 3;
    let from_playbooks = || {
        smtp.mails()
            .iter()
            .filter(|m| {
                !m.header("X-Mikawaya-Idempotency-Key")
                    .is_some_and(|key| key.starts_with("digest"))
            })
            .count()
    };
    assert!(wait_until(Duration::from_secs(60), || from_playbooks() >= third));
    ok(server.child.kill()); // SIGKILL
    ok(server.child.wait());
    let at_kill = from_playbooks();
    assert!(
        at_kill < keys.len(),
        "the kill came before the end ({at_kill} of {})",
        keys.len()
    );

    let _server = workspace.serve_with(&env);
    // The playbooks' messages (the CSMs' daily digests go out beside them).
    let distinct = || {
        smtp.mails()
            .iter()
            .filter_map(|m| m.header("X-Mikawaya-Idempotency-Key"))
            .filter(|key| !key.starts_with("digest"))
            .collect::<BTreeSet<String>>()
    };
    assert!(
        wait_until(Duration::from_secs(90), || distinct().len() >= keys.len()),
        "after restart {} of {} delivered",
        distinct().len(),
        keys.len()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(distinct(), keys, "every queued message arrived");
    let mails: Vec<_> = smtp
        .mails()
        .into_iter()
        .filter(|m| {
            !m.header("X-Mikawaya-Idempotency-Key")
                .is_some_and(|key| key.starts_with("digest"))
        })
        .collect();
    let duplicates = mails.len() - keys.len();
    // The only possible repeat is the message in flight at the kill, with the same key.
    assert!(duplicates <= 1, "{duplicates} duplicates");
    let ids: BTreeSet<Option<String>> = mails.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(
        ids.len(),
        keys.len(),
        "a repeat carries the same Message-ID"
    );
    let store = ok(SqliteStore::open_dir(&workspace.data_dir()));
    let sent = ok(store.list_messages(
        &ok(mikawaya_domain::Actor::system().admin()),
        Some(MessageStatus::Sent),
    ))
    .iter()
    .filter(|m| !m.idempotency_key.starts_with("digest"))
    .count();
    assert_eq!(sent, keys.len());
}

#[test]
fn the_settings_file_configures_smtp_and_bad_keys_are_named_with_their_line() {
    let workspace = demo_with_renewal_playbook();
    workspace.expect(&["rules", "evaluate"], None, 0);
    let settings = workspace.data_dir().join("mikawaya.toml");
    ok(std::fs::write(
        &settings,
        "smtp_url = \"smtp://127.0.0.1:1\"\nsmtp_host = \"x\"\n",
    ));
    let refused = workspace.expect(&["outbox", "flush"], None, 2);
    let message = crate::util::stderr(&refused);
    assert!(
        message.contains("mikawaya.toml:2") && message.contains("smtp_host"),
        "{message}"
    );

    let smtp = SmtpListener::start(Duration::ZERO);
    ok(std::fs::write(
        &settings,
        format!(
            "smtp_url = \"{}\"\nsmtp_from = \"CS Team <cs@example.com>\"\nsecret = \"{SECRET}\"\n",
            smtp.url()
        ),
    ));
    let flushed = workspace.expect(&["outbox", "flush", "--json"], None, 0);
    let report: serde_json::Value = ok(serde_json::from_slice(&flushed.stdout));
    let sent = report["sent"].as_u64().unwrap_or_default();
    assert!(sent > 0, "{report}");
    assert_eq!(smtp.mails().len() as u64, sent);
    assert!(smtp.mails().iter().all(|m| m.from == "cs@example.com"));
    // A flag or environment variable overrides the file.
    let again = workspace.run(
        &[
            "outbox",
            "flush",
            "--smtp-url",
            "smtp://127.0.0.1:1",
            "--json",
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(0));
}
