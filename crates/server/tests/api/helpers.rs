//! A test server with a small, known company: two partners, one account each plus one
//! direct account, each with a contact, a subscription and a touchpoint; one user and one
//! API token per role.

use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::account::NewAccount;
use mikawaya_domain::contact::NewContact;
use mikawaya_domain::partner::NewPartner;
use mikawaya_domain::subscription::{NewSubscription, Term};
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::user::NewUser;
use mikawaya_domain::value::{Email, ExternalId, Money, Name, Slug};
use mikawaya_domain::{AccountId, Actor, PartnerId};
use mikawaya_ingest::{Ingest, IngestConfig};
use mikawaya_server::{AppState, ServerConfig, auth};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub const PASSWORD: &str = "a long enough password";

pub fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}"),
    }
}

/// The seeded ids.
pub struct Seed {
    pub partner_a: PartnerId,
    pub partner_b: PartnerId,
    /// Accounts by key: "a" (partner A), "b" (partner B), "direct".
    pub accounts: HashMap<&'static str, AccountId>,
    /// Child ids by (entity, account key).
    pub children: HashMap<(&'static str, &'static str), i64>,
}

pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub seed: Seed,
    /// Tokens by role name ("partner" is a user of partner A).
    pub tokens: HashMap<&'static str, String>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A response: status, headers and JSON body (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ServerConfig::default()).await
    }

    pub async fn spawn_with(config: ServerConfig) -> TestApp {
        let dir = ok(tempfile::tempdir());
        // The store's calls block (PostgreSQL's driver runs its own runtime): off this one.
        let data_dir = dir.path().to_owned();
        let (store, seed, tokens, ingest) = ok(tokio::task::spawn_blocking(move || {
            let store = test_store(&data_dir);
            let (seed, tokens) = seed(store.as_ref());
            let ingest = Arc::new(ok(Ingest::open(
                &data_dir,
                IngestConfig::default(),
                store.clone(),
            )));
            (store, seed, tokens, ingest)
        })
        .await);
        let state = AppState::new(store.clone(), Arc::clone(&ingest), config);
        let listener = ok(tokio::net::TcpListener::bind("127.0.0.1:0").await);
        let address = ok(listener.local_addr());
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(mikawaya_server::serve(listener, state, async move {
            let _ = signal.await;
        }));
        TestApp {
            base: format!("http://{address}"),
            store,
            seed,
            tokens,
            client: ok(reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()),
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    /// Runs `call` on the store off the async runtime, as the server does.
    pub async fn with_store<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store) -> T + Send + 'static,
    ) -> T {
        let store = Arc::clone(&self.store);
        ok(tokio::task::spawn_blocking(move || call(store.as_ref())).await)
    }

    pub fn account(&self, key: &str) -> i64 {
        self.seed.accounts[key].get()
    }

    /// Sends a request with a bearer token (None = anonymous) and an optional JSON body.
    pub async fn call(
        &self,
        role: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(role) = role {
            request = request.bearer_auth(&self.tokens[role]);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::read(ok(request.send().await)).await
    }

    pub async fn get(&self, role: &str, path: &str) -> Reply {
        self.call(Some(role), Method::GET, path, None).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::read(ok(request.send().await)).await
    }

    /// Logs in with a password; returns the session cookie pair and the CSRF token.
    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let reply = self
            .call(
                None,
                Method::POST,
                "/api/v1/session",
                Some(serde_json::json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let cookie = reply
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let pair = cookie.split(';').next().unwrap_or("").to_owned();
        (
            pair,
            reply.body["csrf_token"].as_str().unwrap_or("").to_owned(),
        )
    }
}

/// The store the suite runs on: SQLite in the test's data dir, or with
/// `MIKAWAYA_TEST_STORE=postgresql` a new database on the PostgreSQL 15 server this test
/// process shares (`scripts/test.sh` runs the suite both ways).
fn backend() -> &'static str {
    match std::env::var("MIKAWAYA_TEST_STORE").as_deref() {
        Ok("postgresql") => "postgresql",
        _ => "sqlite",
    }
}

fn test_store(data_dir: &std::path::Path) -> Arc<dyn Store> {
    match backend() {
        "postgresql" => Arc::new(ok(PostgresStore::connect(
            &mikawaya_testpg::fresh_database(),
        ))),
        _ => Arc::new(ok(SqliteStore::open_dir(data_dir))),
    }
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = ok(response.text().await);
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// The `data` array's length of a list reply.
    pub fn count(&self) -> usize {
        self.body["data"].as_array().map_or(0, Vec::len)
    }
}

fn seed(store: &dyn Store) -> (Seed, HashMap<&'static str, String>) {
    let system = Actor::system();
    let admin = ok(system.admin());
    let write = ok(system.write());
    let partner = |external: &str, name: &str| {
        ok(store.upsert_partner(
            &admin.manage(),
            NewPartner {
                external_id: Some(ok(ExternalId::parse(external))),
                name: ok(Name::parse(name)),
            },
        ))
        .id
    };
    let partner_a = partner("P-A", "Partner A");
    let partner_b = partner("P-B", "Partner B");
    let mut accounts = HashMap::new();
    let mut children = HashMap::new();
    for (key, partner_id, mrr) in [
        ("a", Some(partner_a), 100.0),
        ("b", Some(partner_b), 200.0),
        ("direct", None, 300.0),
    ] {
        let mut new_account = NewAccount::named(ok(Name::parse(&format!("Account {key}"))));
        new_account.external_id = Some(ok(ExternalId::parse(&format!("EXT-{key}"))));
        new_account.partner_id = partner_id;
        new_account.mrr = ok(Money::new(mrr));
        let account = ok(store.create_account(&write, new_account));
        accounts.insert(key, account.id);
        let contact = ok(store.create_contact(
            &write,
            NewContact {
                account_id: account.id,
                external_id: None,
                name: ok(Name::parse(&format!("Contact {key}"))),
                email: Some(ok(Email::parse(&format!("contact.{key}@customer.example")))),
                role: None,
                title: None,
                personal_success: None,
                sentiment: None,
                influence: None,
            },
        ));
        children.insert(("contacts", key), contact.id.get());
        let subscription = ok(store.create_subscription(
            &write,
            NewSubscription {
                account_id: account.id,
                external_id: None,
                plan: ok(Slug::parse("pro")),
                quantity: 1,
                mrr: ok(Money::new(mrr)),
                term: ok(Term::new(jiff::civil::date(2025, 1, 1), None)),
            },
        ));
        children.insert(("subscriptions", key), subscription.id.get());
        let touchpoint = ok(store.create_touchpoint(
            &write,
            NewTouchpoint {
                account_id: account.id,
                kind: TouchpointKind::Call,
                occurred_at: ok("2025-02-01T10:00:00Z".parse()),
                user_id: None,
                summary: None,
                attendees: vec![],
                notes: None,
                sentiment: None,
            },
        ));
        children.insert(("touchpoints", key), touchpoint.id.get());
    }
    let hash = ok(auth::hash_password(PASSWORD));
    let mut tokens = HashMap::new();
    for (name, role, partner_id) in [
        ("admin", Role::Admin, None),
        ("leader", Role::Leader, None),
        ("csm", Role::Csm, None),
        ("viewer", Role::Viewer, None),
        ("partner", Role::Partner, Some(partner_a)),
    ] {
        let user = ok(store.create_user(
            &admin,
            ok(NewUser::new(
                ok(Email::parse(&format!("{name}@team.example"))),
                ok(Name::parse(name)),
                role,
                partner_id,
            )),
            Some(hash.clone()),
        ));
        let (secret, token_hash) = auth::new_token();
        ok(store.create_token(
            &admin,
            ok(Name::parse(name)),
            Scope::Admin,
            Some(user.id),
            token_hash,
        ));
        tokens.insert(name, secret);
    }
    for (name, scope) in [
        ("service-read", Scope::Read),
        ("service-write", Scope::Write),
    ] {
        let (secret, token_hash) = auth::new_token();
        ok(store.create_token(&admin, ok(Name::parse(name)), scope, None, token_hash));
        tokens.insert(name, secret);
    }
    (
        Seed {
            partner_a,
            partner_b,
            accounts,
            children,
        },
        tokens,
    )
}
