//! The subcommands.

use crate::Failure;
use crate::lang::say;
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use mikawaya_analytics::metrics::{Metric, MetricSpec, Subject};
use mikawaya_analytics::scorecard::{Colour, Scorecard, ScorecardSpec, Scored};
use mikawaya_app::backtest::Scoring;
use mikawaya_app::clock::Clock;
use mikawaya_app::credentials as auth;
use mikawaya_demo::{DemoOptions, Locale};
use mikawaya_domain::Actor;
use mikawaya_domain::access::Scope;
use mikawaya_domain::value::{Email, Name};
use mikawaya_import::{ImportError, ImportKind};
use mikawaya_ingest::import::EventFormat;
use mikawaya_ingest::{Ingest, IngestConfig, IngestError};
use mikawaya_server::{AppState, ServerConfig};
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::{Store, StoreError};
use mikawaya_usage::filter::Condition;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The password every demo user gets.
pub const DEMO_PASSWORD: &str = "mikawaya-demo";

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("MIKAWAYA_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The PostgreSQL database named on the command line or in the environment.
static DATABASE_URL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Keeps `--database-url` (or `MIKAWAYA_DATABASE_URL`) for [`open_store`].
pub(crate) fn set_database_url(url: Option<String>) {
    let _ = DATABASE_URL.set(url.filter(|url| !url.trim().is_empty()));
}

/// The store's database: `--database-url`, `MIKAWAYA_DATABASE_URL`, or `database_url` in
/// `DATA_DIR/mikawaya.toml`, in that order; none means the data dir's SQLite file.
pub(crate) fn database_url(data_dir: &Path) -> Result<Option<String>, Failure> {
    if let Some(Some(url)) = DATABASE_URL.get() {
        return Ok(Some(url.clone()));
    }
    crate::work::settings_database_url(data_dir)
}

/// A URL fit to print: the password replaced by `***`.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn open_postgres(url: &str) -> Result<Arc<dyn Store>, Failure> {
    PostgresStore::connect(url)
        .map(|store| Arc::new(store) as Arc<dyn Store>)
        .map_err(|error| match error {
            StoreError::Invalid(invalid) => Failure::input(anyhow!("{invalid}")),
            error => {
                let url = redacted(url);
                let opening = crate::lang::say(
                    &format!("opening the store in the PostgreSQL database {url}"),
                    &format!("PostgreSQL データベース {url} のストアを開けません"),
                );
                Failure::from(anyhow!("{opening}: {error}"))
            }
        })
}

/// Opens the store: PostgreSQL when a database URL is configured, else the data dir's
/// SQLite file (created when missing).
pub(crate) fn open_store(data_dir: &Path) -> Result<Arc<dyn Store>, Failure> {
    match database_url(data_dir)? {
        Some(url) => {
            // The data dir still holds the settings file and the demo's hidden truth.
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating the data dir {}", data_dir.display()))?;
            open_postgres(&url)
        }
        None => SqliteStore::open_dir(data_dir)
            .map(|store| Arc::new(store) as Arc<dyn Store>)
            .with_context(|| format!("opening the store in {}", data_dir.display()))
            .map_err(Failure::from),
    }
}

/// Store errors that are the user's doing exit with 2.
/// The account facts account-level metrics read (MRR, seats, touchpoints).
pub(crate) fn account_facts(
    store: &dyn Store,
) -> Result<mikawaya_analytics::metrics::AccountFacts, Failure> {
    mikawaya_playbooks::facts::account_facts(store, &Actor::system().read())
        .map_err(|e| Failure::from(anyhow!("{e}")))
}

pub(crate) fn store_failure(error: StoreError) -> Failure {
    match error {
        StoreError::NotFound { .. }
        | StoreError::Conflict { .. }
        | StoreError::Invalid(_)
        | StoreError::Forbidden(_) => Failure::input(error),
        other => Failure::from(other),
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MIKAWAYA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Send session cookies without the Secure flag (only for plain HTTP on a host other than localhost).
    #[arg(long)]
    insecure_cookies: bool,
    #[command(flatten)]
    ingest: IngestArgs,
    #[command(flatten)]
    workflow: crate::work::WorkflowArgs,
    #[command(flatten)]
    sso: SsoArgs,
}

/// Single sign-on through an OpenID Connect provider (Okta, Entra ID, Google, Keycloak...):
/// on when an issuer is given. The provider's redirect URI is BASE_URL/login/sso/callback.
#[derive(Debug, Clone, clap::Args)]
pub struct SsoArgs {
    /// The provider's issuer URL.
    #[arg(long, env = "MIKAWAYA_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// Mikawaya's client id at the provider.
    #[arg(long, env = "MIKAWAYA_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// Mikawaya's client secret (none: a public client with PKCE only).
    #[arg(long, env = "MIKAWAYA_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// The role of a new user whose groups map to none: admin, leader, csm or viewer.
    #[arg(long, env = "MIKAWAYA_OIDC_DEFAULT_ROLE", default_value = "viewer")]
    oidc_default_role: String,
    /// Provider groups to roles, e.g. "cs-leaders=leader,cs-team=csm" (first match wins).
    #[arg(long, env = "MIKAWAYA_OIDC_GROUPS", default_value = "")]
    oidc_groups: String,
}

impl SsoArgs {
    /// The single sign-on settings, none when no issuer is given.
    fn config(
        &self,
        base_url: &str,
    ) -> Result<Option<mikawaya_server::html::sso::SsoConfig>, Failure> {
        let Some(issuer) = self.oidc_issuer.clone() else {
            return Ok(None);
        };
        let client_id = self.oidc_client_id.clone().ok_or_else(|| {
            Failure::input(anyhow!("--oidc-client-id is needed with --oidc-issuer"))
        })?;
        let input = |e: mikawaya_domain::Invalid| {
            Failure::input(anyhow!("--{}: {}", e.field.replace('_', "-"), e.reason))
        };
        let policy = mikawaya_app::sso::SsoPolicy {
            default_role: mikawaya_app::sso::SsoPolicy::role(
                &self.oidc_default_role,
                "oidc_default_role",
            )
            .map_err(input)?,
            group_roles: mikawaya_app::sso::SsoPolicy::parse_groups(&self.oidc_groups)
                .map_err(input)?,
        };
        Ok(Some(mikawaya_server::html::sso::SsoConfig {
            issuer,
            client_id,
            client_secret: self.oidc_client_secret.clone(),
            redirect_url: format!("{}/login/sso/callback", base_url.trim_end_matches('/')),
            policy,
        }))
    }
}

/// Settings of the usage event log and rollups.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// The data dir's business time zone (IANA name, e.g. Asia/Tokyo): usage is counted per
    /// day in it and every "today" is taken in it. Remembered in the data dir once given;
    /// UTC until then.
    #[arg(long, env = "MIKAWAYA_TIME_ZONE")]
    time_zone: Option<String>,
    /// The tracking API accepts events at most this many days old.
    #[arg(long, env = "MIKAWAYA_LATE_DAYS", default_value_t = 30)]
    late_days: u32,
}

impl IngestArgs {
    /// The time zone name as given, if it was.
    pub(crate) fn time_zone(&self) -> Option<&str> {
        self.time_zone.as_deref()
    }

    /// The data dir's business clock (see `mikawaya_app::clock`).
    pub(crate) fn clock(&self, store: &dyn Store) -> Result<Clock, Failure> {
        Ok(Clock::system(business_time_zone(store, self.time_zone())?))
    }

    fn config(&self, store: &dyn Store) -> Result<IngestConfig, Failure> {
        Ok(IngestConfig {
            time_zone: business_time_zone(store, self.time_zone())?,
            late_days: self.late_days,
            ..IngestConfig::default()
        })
    }
}

/// The data dir's business time zone: `given` (remembered), else the stored one, else UTC.
pub(crate) fn business_time_zone(
    store: &dyn Store,
    given: Option<&str>,
) -> Result<jiff::tz::TimeZone, Failure> {
    mikawaya_app::clock::resolve_time_zone(store, given).map_err(|error| match error {
        mikawaya_app::AppError::Invalid(invalid) => {
            Failure::input(anyhow!("--time-zone: {}", invalid.reason))
        }
        other => Failure::from(anyhow::Error::new(other).context("reading the time zone")),
    })
}

/// The data dir's clock in its stored business time zone (for commands without
/// `--time-zone`).
pub(crate) fn stored_clock(store: &dyn Store) -> Result<Clock, Failure> {
    Ok(Clock::system(business_time_zone(store, None)?))
}

/// A use case's refusal of its input is the user's (exit 2, the field named as a flag);
/// anything else is ours.
pub(crate) fn app_input(error: mikawaya_app::AppError) -> Failure {
    match error {
        mikawaya_app::AppError::Invalid(invalid) => Failure::input(anyhow!(
            "--{}: {}",
            invalid.field.replace('_', "-"),
            invalid.reason
        )),
        mikawaya_app::AppError::Store(store) => store_failure(store),
        other => Failure::from(anyhow::Error::new(other)),
    }
}

/// `--as-of` when given, else today in the data dir's business time zone.
pub(crate) fn as_of_or_today(
    raw: Option<&str>,
    flag: &str,
    store: &dyn Store,
    ingest: &IngestArgs,
) -> Result<jiff::civil::Date, Failure> {
    match raw {
        Some(raw) => mikawaya_domain::value::parse_date(raw, flag).map_err(Failure::input),
        None => Ok(ingest.clock(store)?.today()),
    }
}

/// The day a command's default follows: today, or the day after the last usage event
/// when the events ended in the past ([`mikawaya_app::clock::data_today`]), said on the
/// standard error when it is not today.
pub(crate) fn data_today(
    store: &dyn Store,
    service: &Ingest,
    args: &IngestArgs,
) -> Result<jiff::civil::Date, Failure> {
    let today = args.clock(store)?.today();
    let span = service
        .read(|rollups| rollups.event_span())
        .map_err(Failure::from)?;
    let day = mikawaya_app::clock::data_today(span, today);
    if day != today {
        let last = day.yesterday().unwrap_or(day);
        eprintln!(
            "{}",
            say(
                &format!("the usage events end on {last}: as of {day} (--as-of chooses the day)"),
                &format!(
                    "利用イベントは {last} で終わっています: {day} 時点で計算します (--as-of で日付を指定できます)"
                ),
            )
        );
    }
    Ok(day)
}

/// Opens the event log for a command that reads usage: on its own, or, when a running
/// server holds it, read as it stands beside the server (said on stderr).
pub(crate) fn open_ingest(
    data_dir: &Path,
    store: Arc<dyn Store>,
    args: &IngestArgs,
) -> Result<Arc<Ingest>, Failure> {
    match open_ingest_exclusive(data_dir, Arc::clone(&store), args) {
        Err(_) if mikawaya_ingest::is_held(data_dir) => {
            eprintln!(
                "{}",
                say(
                    "the server is running: its event log is read as it stands now (nothing is written to it)",
                    "サーバーが動いています: イベントログを現時点の内容で読み取ります (書き込みはしません)",
                )
            );
            let config = args.config(store.as_ref())?;
            let ingest = Ingest::open_reader(data_dir, config, store).map_err(|error| {
                Failure::from(anyhow::Error::new(error).context("reading the event log"))
            })?;
            Ok(Arc::new(ingest))
        }
        opened => opened,
    }
}

/// Opens the event log for a command that writes it (or serves it): refused, with what to
/// do, while another process holds it.
pub(crate) fn open_ingest_exclusive(
    data_dir: &Path,
    store: Arc<dyn Store>,
    args: &IngestArgs,
) -> Result<Arc<Ingest>, Failure> {
    let mut config = args.config(store.as_ref())?;
    // With the store in PostgreSQL, the events are there too (every node shares them).
    config.postgres_url = database_url(data_dir)?;
    let started = std::time::Instant::now();
    let ingest = Ingest::open(data_dir, config, store).map_err(|error| match error {
        IngestError::Log(mikawaya_ingest::log::LogError::Locked(_)) => Failure::input(error),
        other => Failure::from(anyhow::Error::new(other).context("opening the event log")),
    })?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "event log ready");
    Ok(Arc::new(ingest))
}

pub fn serve(data_dir: &Path, args: ServeArgs) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let ingest = open_ingest_exclusive(data_dir, Arc::clone(&store), &args.ingest)?;
    run_server(data_dir, store, ingest, &args, None)
}

fn run_server(
    data_dir: &Path,
    store: Arc<dyn Store>,
    ingest: Arc<Ingest>,
    args: &ServeArgs,
    greeting: Option<String>,
) -> Result<(), Failure> {
    // Reads the store: before the runtime, whose threads must not block on it.
    let resolved = args
        .workflow
        .resolve(data_dir, store.as_ref(), args.ingest.time_zone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let config = ServerConfig {
            secure_cookies: !args.insecure_cookies,
            ..ServerConfig::default()
        };
        mikawaya_outbox::install_crypto();
        let sso = args.sso.config(&resolved.workflow.outbox.base_url)?;
        let mut state =
            AppState::new(store, Arc::clone(&ingest), config).with_workflow(resolved.workflow);
        if let Some(sso) = sso {
            let issuer = sso.issuer.clone();
            state = state.with_sso(
                mikawaya_server::html::sso::Sso::new(sso)
                    .map_err(|e| Failure::input(anyhow!("single sign-on: {e}")))?,
            );
            tracing::info!(%issuer, "single sign-on through OpenID Connect is on");
        }
        let worker = (resolved.interval_seconds > 0).then(|| {
            tokio::spawn(mikawaya_server::worker::run(
                state.clone(),
                std::time::Duration::from_secs(resolved.interval_seconds),
            ))
        });
        tracing::info!(%address, "mikawaya listening");
        println!(
            "{}",
            say(
                &format!("Mikawaya is running at http://{address}/"),
                &format!("Mikawaya を http://{address}/ で起動しました"),
            )
        );
        if let Some(greeting) = greeting {
            println!("{greeting}");
        }
        mikawaya_server::serve(listener, state, shutdown_signal())
            .await
            .context("serving")?;
        // Long jobs (the daily pipeline's steps, backfills) stop at their next step.
        ingest.begin_stop();
        if let Some(worker) = worker {
            worker.abort();
        }
        Ok::<(), Failure>(())
    });
    // The worker's blocking jobs end before the service says it stopped (and before the
    // event log closes), so nothing runs after "stopped".
    ingest.begin_stop();
    runtime.shutdown_timeout(std::time::Duration::from_secs(60));
    ingest.shutdown();
    tracing::info!("mikawaya stopped");
    served
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many accounts (1 to 100000).
    #[arg(long, default_value_t = 500)]
    accounts: u32,
    /// Random seed: the same seed gives the same company.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Names and currency: ja (JPY) or en (USD).
    #[arg(long, default_value = "en")]
    locale: String,
    /// The simulated today, YYYY-MM-DD (default: today).
    #[arg(long)]
    as_of: Option<String>,
    /// Start the server afterwards.
    #[arg(long)]
    serve: bool,
    /// Leave out the simulated product usage (events), e.g. for very large demos.
    #[arg(long)]
    no_usage: bool,
    #[command(flatten)]
    server: ServeArgs,
}

pub fn demo(data_dir: &Path, args: DemoArgs) -> Result<(), Failure> {
    let locale = Locale::parse(&args.locale).map_err(Failure::input)?;
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let as_of = as_of_or_today(
        args.as_of.as_deref(),
        "--as-of",
        store.as_ref(),
        &args.server.ingest,
    )?;
    let ingest = open_ingest_exclusive(data_dir, Arc::clone(&store), &args.server.ingest)?;
    let system = Actor::system();
    let existing = store
        .count_accounts(&system.read(), &Default::default())
        .map_err(store_failure)?;
    let greeting = say(
        &format!("Log in as admin@mikawaya.example with password {DEMO_PASSWORD}"),
        &format!("admin@mikawaya.example とパスワード {DEMO_PASSWORD} でログインしてください"),
    );
    if existing > 0 {
        eprintln!(
            "{} already holds {existing} accounts; keeping them (use another --data-dir for a fresh demo)",
            data_dir.display()
        );
    } else {
        let started = std::time::Instant::now();
        let options = DemoOptions {
            accounts: args.accounts,
            seed: args.seed,
            locale,
            as_of,
        };
        let mut company = mikawaya_demo::generate(options).map_err(Failure::input)?;
        let usage = std::mem::take(&mut company.usage);
        let password_hash = auth::hash_password(DEMO_PASSWORD)
            .map_err(|e| anyhow!("hashing the demo password: {e}"))?;
        let summary = mikawaya_demo::load(
            store.as_ref(),
            company,
            &password_hash,
            &data_dir.join("demo-truth.json"),
        )
        .context("loading the demo company")?;
        eprintln!(
            "demo company ready in {:.1} s: {} accounts ({} churned), {} contacts, {} subscription rows, {} touchpoints, {} users, {} success plans, {} feedback items in {} feature requests",
            started.elapsed().as_secs_f64(),
            summary.accounts,
            summary.churned,
            summary.contacts,
            summary.subscriptions,
            summary.touchpoints,
            summary.users,
            summary.plans,
            summary.feedback,
            summary.requests
        );
        if args.no_usage {
            eprintln!("no product usage generated (--no-usage)");
        } else {
            let started = std::time::Instant::now();
            let progress = ProgressBar::new_spinner();
            progress.set_message("generating product usage");
            let window_start = as_of
                .checked_sub(jiff::Span::new().months(18))
                .unwrap_or(as_of);
            let events =
                mikawaya_demo::usage::load_usage(&ingest, &usage, window_start, &mut |written| {
                    progress.set_message(format!("{written} usage events written"));
                    progress.tick();
                })
                .context("writing the demo's product usage")?;
            progress.finish_and_clear();
            eprintln!(
                "product usage ready in {:.1} s: {events} events",
                started.elapsed().as_secs_f64()
            );
            // The default card is learned from the company's own history, as a new
            // customer would do with `mikawaya scorecard suggest --save`.
            let started = std::time::Instant::now();
            let plan = mikawaya_app::forecast::Plan {
                as_of,
                horizon_days: 90,
                every_days: 14,
                folds: 4,
            };
            let suggested = ingest
                .read(|usage| mikawaya_app::scorecards::suggest(store.as_ref(), usage, &plan))
                .map_err(Failure::from)?;
            match suggested {
                Ok(found) => {
                    let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
                    mikawaya_app::scorecards::save(store.as_ref(), &manage, &found.cards)
                        .map_err(|e| anyhow!("{e}"))?;
                    let show = |b: Option<&mikawaya_analytics::backtest::Backtest>| {
                        b.and_then(|b| b.auc)
                            .map_or_else(|| "n/a".to_owned(), |auc| format!("{auc:.3}"))
                    };
                    eprintln!(
                        "default scorecard learned from the history in {:.1} s: {} measures, held-out AUC {} (forecast {})",
                        started.elapsed().as_secs_f64(),
                        found.suggestion.chosen.len(),
                        show(found.held_out.others.first()),
                        show(Some(&found.held_out.forecast)),
                    );
                }
                Err(error) => eprintln!("keeping the built-in default scorecard: {error}"),
            }
            let started = std::time::Instant::now();
            let days = mikawaya_app::health::days_back(
                as_of
                    .checked_sub(jiff::Span::new().days(7 * 25))
                    .unwrap_or(as_of),
                as_of,
                7,
            );
            let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
            let written = ingest
                .read(|rollups| {
                    mikawaya_app::health::snapshot(
                        store.as_ref(),
                        &manage,
                        &system.read(),
                        rollups,
                        &days,
                    )
                })
                .map_err(Failure::from)?
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "health history ready in {:.1} s: {written} scores over {} weeks",
                started.elapsed().as_secs_f64(),
                days.len()
            );
            // The success plans' objectives, measured weekly over the plans' months as the
            // daily run would have, so each has a history of statuses.
            let mut statuses = 0;
            for day in mikawaya_app::health::days_back(
                as_of
                    .checked_sub(jiff::Span::new().days(7 * 24))
                    .unwrap_or(as_of),
                as_of,
                7,
            )
            .into_iter()
            .rev()
            {
                let noon = day
                    .at(12, 0, 0, 0)
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .map_err(|e| anyhow!("{e}"))?
                    .timestamp();
                statuses += ingest
                    .read(|usage| mikawaya_app::plans::measure(store.as_ref(), usage, day, noon))
                    .map_err(Failure::from)?
                    .map_err(|e| anyhow!("{e}"))?;
            }
            eprintln!("success plans measured weekly: {statuses} changes of an objective's status");
            let closed = demo_close_lost_plans(store.as_ref(), as_of)?;
            eprintln!("{closed} plans of accounts that churned since closed as cancelled");
            // The customer journey: the standard journey saved, its rules replayed weekly
            // over the usage window, and the promoters marked as advocates by their CSMs.
            let started = std::time::Instant::now();
            let (entries, advocates) = demo_journey(store.as_ref(), &ingest, window_start, as_of)?;
            eprintln!(
                "customer journey replayed in {:.1} s: {entries} stage entries, {advocates} advocates",
                started.elapsed().as_secs_f64()
            );
        }
        let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
        let starters = mikawaya_playbooks::starter::install(store.as_ref(), &manage)
            .context("installing the starter playbooks")?;
        eprintln!(
            "{} starter playbooks installed (the server evaluates them daily)",
            starters.len()
        );
        if !args.no_usage {
            // A year of playbook history, so each playbook's effect against its holdout and
            // the next best action have numbers: the rules replayed weekly on a virtual
            // clock (messages suppressed), and the CSMs' tasks of the past done.
            let started = std::time::Instant::now();
            let year_ago = as_of
                .checked_sub(jiff::Span::new().days(364))
                .map_err(|e| anyhow!("{e}"))?;
            let before = as_of.yesterday().map_err(|e| anyhow!("{e}"))?;
            let replayed = mikawaya_app::replay::replay(
                store.as_ref(),
                &ingest,
                &mikawaya_playbooks::Settings::default(),
                (year_ago, before),
                7,
                false,
            )
            .map_err(|e| anyhow!("replaying the playbooks' year: {e}"))?;
            let done = demo_tasks_done(store.as_ref(), as_of)?;
            let measured = ingest
                .read(|usage| mikawaya_app::effect::measure(store.as_ref(), Some(usage), as_of))
                .map_err(Failure::from)?
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "a year of playbook history in {:.1} s: {} firings ({} held out), {} tasks of the past done, {} uplifts measured",
                started.elapsed().as_secs_f64(),
                replayed.fired,
                replayed.held_out,
                done,
                measured
            );
            // A first churn forecast, so Today and the pages show each account's risk.
            let started = std::time::Instant::now();
            let plan = mikawaya_app::forecast::Plan {
                as_of,
                horizon_days: 90,
                every_days: 14,
                folds: 4,
            };
            match ingest.read(|usage| mikawaya_app::forecast::train(store.as_ref(), usage, &plan)) {
                Ok(Ok(saved)) => eprintln!(
                    "churn forecast v{} trained in {:.1} s on {} observations",
                    saved.version,
                    started.elapsed().as_secs_f64(),
                    saved.model.n
                ),
                Ok(Err(error)) => eprintln!("no churn forecast: {error}"),
                Err(error) => eprintln!("no churn forecast: {error}"),
            }
            // Each account's health in force, its change and risk, for lists and Today.
            ingest
                .read(|usage| mikawaya_app::signals::refresh(store.as_ref(), usage, as_of))
                .map_err(Failure::from)?
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    if args.serve {
        run_server(data_dir, store, ingest, &args.server, Some(greeting))
    } else {
        ingest.shutdown();
        println!("{greeting}");
        Ok(())
    }
}

/// The demo's CSMs did the work of the past: open tasks due more than a week before
/// `as_of` are done.
/// Cancels the active plans of churned accounts, as their CSMs would once the customer left
/// (their statuses until then stay in the history).
fn demo_close_lost_plans(store: &dyn Store, as_of: jiff::civil::Date) -> Result<usize, Failure> {
    let system = Actor::system();
    let write = system.write().map_err(|e| anyhow!("{e}"))?;
    let churned: std::collections::HashSet<mikawaya_domain::AccountId> = store
        .all_accounts(&system.read())
        .map_err(store_failure)?
        .into_iter()
        .filter(|a| mikawaya_domain::account::is_churned(a.stage.as_ref()))
        .map(|a| a.id)
        .collect();
    let plans = store
        .list_plans(
            &system.read(),
            &mikawaya_store::plans::PlanFilter::default(),
        )
        .map_err(store_failure)?;
    let noon = as_of
        .at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| anyhow!("{e}"))?
        .timestamp();
    let mut closed = 0;
    for plan in plans.into_iter().filter(|p| {
        churned.contains(&p.account_id)
            && p.body.status == mikawaya_domain::plan::PlanStatus::Active
    }) {
        mikawaya_app::plans::change(
            store,
            &write,
            plan.id,
            plan.version,
            mikawaya_domain::plan::PlanChange::Details {
                title: None,
                status: Some(mikawaya_domain::plan::PlanStatus::Cancelled),
                owner_id: mikawaya_domain::Patch::Keep,
                customer_owner_id: mikawaya_domain::Patch::Keep,
                language: None,
            },
            noon,
        )
        .map_err(|e| anyhow!("closing a lost account's plan: {e}"))?;
        closed += 1;
    }
    Ok(closed)
}

/// Saves the standard journey, replays its rules weekly from `from` to `as_of`, and moves
/// accounts in `value` whose latest NPS answer (of the last half year) is a promoter's into
/// `advocacy`, by hand, on the day of that answer.
fn demo_journey(
    store: &dyn Store,
    ingest: &mikawaya_ingest::Ingest,
    from: jiff::civil::Date,
    as_of: jiff::civil::Date,
) -> Result<(usize, usize), Failure> {
    let system = Actor::system();
    let manage = system.manage().map_err(|e| anyhow!("{e}"))?;
    mikawaya_app::journey::save(
        store,
        &manage,
        &mikawaya_playbooks::journey::Journey::standard(),
        as_of,
    )
    .map_err(|e| anyhow!("saving the standard journey: {e}"))?;
    let entries = ingest
        .read(|usage| mikawaya_app::journey::replay(store, usage, from, as_of, 7))
        .map_err(Failure::from)?
        .map_err(|e| anyhow!("replaying the journey: {e}"))?;
    let read = system.read();
    let half_year = as_of
        .checked_sub(jiff::Span::new().days(182))
        .map_err(|e| anyhow!("{e}"))?
        .at(0, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| anyhow!("{e}"))?
        .timestamp();
    let mut latest: std::collections::HashMap<mikawaya_domain::AccountId, (jiff::Timestamp, i64)> =
        std::collections::HashMap::new();
    for answer in store
        .survey_responses(&read, None, half_year)
        .map_err(store_failure)?
        .into_iter()
        .filter(|a| a.kind == mikawaya_domain::work::SurveyKind::Nps)
    {
        latest.insert(answer.account_id, (answer.answered_at, answer.score));
    }
    let write = system.write().map_err(|e| anyhow!("{e}"))?;
    let mut advocates = 0;
    for account in store.all_accounts(&read).map_err(store_failure)? {
        let in_value = account
            .stage
            .as_ref()
            .is_some_and(|s| s.as_str() == "value");
        let Some((at, score)) = latest.get(&account.id) else {
            continue;
        };
        let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        if !in_value || *score < 9 || account.signals.stage_since.is_some_and(|s| s > day) {
            continue;
        }
        mikawaya_app::journey::set_stage(store, &write, account.id, "advocacy", Some(day), as_of)
            .map_err(|e| anyhow!("marking an advocate: {e}"))?;
        advocates += 1;
    }
    mikawaya_app::journey::mark_stuck(store, as_of)
        .map_err(|e| anyhow!("marking stuck accounts: {e}"))?;
    Ok((entries, advocates))
}

fn demo_tasks_done(store: &dyn Store, as_of: jiff::civil::Date) -> Result<usize, Failure> {
    let access = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let week_ago = as_of
        .checked_sub(jiff::Span::new().days(7))
        .map_err(|e| anyhow!("{e}"))?;
    let open =
        mikawaya_playbooks::facts::open_tasks(store, &access.read()).map_err(|e| anyhow!("{e}"))?;
    let outcome = mikawaya_domain::value::Text::parse("Done").map_err(|e| anyhow!("{e}"))?;
    let mut done = 0;
    for task in open.into_iter().filter(|t| t.due_on < week_ago) {
        store
            .update_task(
                &access,
                task.id,
                mikawaya_domain::work::TaskPatch {
                    status: Some(mikawaya_domain::work::TaskStatus::Done),
                    outcome: mikawaya_domain::Patch::Set(outcome.clone()),
                    ..Default::default()
                },
            )
            .map_err(store_failure)?;
        done += 1;
    }
    Ok(done)
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// accounts, contacts, subscriptions, touchpoints or events.
    kind: String,
    /// The CSV file (UTF-8, UTF-8 with BOM, or Shift_JIS); for events, NDJSON (Segment
    /// messages) or CSV (by a .csv name: columns account_id, user_id, event, timestamp and
    /// optionally message_id, by name, usual alias or --map; the others are properties).
    file: PathBuf,
    /// For events: the file format, ndjson or csv (default: by the file name).
    #[arg(long)]
    format: Option<String>,
    #[command(flatten)]
    ingest: IngestArgs,
    /// Header mapping SOURCE=TARGET (repeatable), e.g. --map "Company Name=name"; one source
    /// may fill several columns (--map customerID=external_id --map customerID=name);
    /// SOURCE= leaves a column out.
    #[arg(long = "map")]
    mappings: Vec<String>,
    /// Value translation COLUMN:FROM=TO (repeatable), e.g. --map-values "Partner:Yes=" or
    /// --map-values "プラン:プロ=pro"; FROM matches whatever its case, width and spaces.
    #[arg(long = "map-values")]
    values: Vec<String>,
    /// ISO 4217 code of amounts that name no currency (default: the data dir's, see
    /// `mikawaya settings currency`).
    #[arg(long)]
    currency: Option<String>,
    /// For files of tenures and churn flags: the day they describe, YYYY-MM-DD (default today).
    #[arg(long)]
    as_of: Option<String>,
    /// Start from the mapping saved under this name.
    #[arg(long)]
    mapping: Option<String>,
    /// Save the mapping used under this name once the file is in.
    #[arg(long)]
    save_mapping: Option<String>,
}

pub fn import(data_dir: &Path, args: ImportArgs) -> Result<(), Failure> {
    if args.kind == "events" {
        return import_events(data_dir, &args);
    }
    let kind = ImportKind::parse(&args.kind).map_err(Failure::input)?;
    let request = mikawaya_app::import::ImportRequest {
        saved: args.mapping.clone(),
        mapping: mikawaya_import::Mapping {
            map: args.mappings.clone(),
            values: args.values.clone(),
            currency: args.currency.clone(),
        },
        as_of: args
            .as_of
            .as_deref()
            .map(|day| mikawaya_domain::value::parse_date(day, "--as-of"))
            .transpose()
            .map_err(Failure::input)?,
    };
    request.mapping.check().map_err(Failure::input)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))
        .map_err(Failure::input)?;
    let progress = ProgressBar::new(bytes.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message("reading");
    let file = args.file.display().to_string();
    let store = open_store(data_dir)?;
    let access = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let imported = mikawaya_app::import::import_file(
        store.as_ref(),
        &access,
        kind,
        &bytes,
        &request,
        &mut |position| {
            if position >= bytes.len() as u64 {
                progress.set_message("writing");
            }
            progress.set_position(position)
        },
    );
    let imported = match imported {
        Ok(imported) => imported,
        Err(
            mikawaya_app::AppError::Import(ImportError::Rows(rows))
            | mikawaya_app::AppError::Store(StoreError::ImportRejected(rows)),
        ) => {
            progress.abandon();
            return Err(rejected(&file, &rows));
        }
        Err(mikawaya_app::AppError::Import(error)) => {
            progress.abandon();
            return Err(Failure::input(anyhow!("{file}: {error}")));
        }
        Err(mikawaya_app::AppError::Invalid(error)) => {
            progress.abandon();
            return Err(Failure::input(anyhow!("{file}: {error}")));
        }
        Err(mikawaya_app::AppError::Store(error)) => return Err(store_failure(error)),
        Err(other) => return Err(Failure::from(anyhow::Error::new(other))),
    };
    let (encoding, ignored, summary) = (
        imported.encoding,
        imported.ignored_columns,
        imported.summary,
    );
    progress.finish_and_clear();
    if !ignored.is_empty() {
        eprintln!(
            "{file}: {}: {}",
            say(
                "columns left out (map them with --map SOURCE=TARGET)",
                "取り込まなかった列 (--map 元=先 で対応づけられます)"
            ),
            ignored.join(", ")
        );
    }
    println!(
        "{}",
        say(
            &format!(
                "imported {} {} rows from {file} ({}): {} created, {} updated",
                summary.rows,
                kind.as_str(),
                encoding.label(),
                summary.created,
                summary.updated
            ),
            &format!(
                "{file} ({}) から {} の {} 行を取り込みました: 新規 {}、更新 {}",
                encoding.label(),
                kind.as_str(),
                summary.rows,
                summary.created,
                summary.updated
            ),
        )
    );
    if let Some(name) = &args.save_mapping {
        let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
        let used = mikawaya_app::import::resolved(store.as_ref(), &access.read(), &request)
            .map_err(|e| anyhow!("{e}"))?;
        mikawaya_app::import::save_mapping(store.as_ref(), &manage, name, &used)
            .map_err(Failure::input)?;
        println!(
            "{}",
            say(
                &format!("saved the mapping as '{name}' (reuse it with --mapping {name})"),
                &format!(
                    "対応づけを '{name}' として保存しました (--mapping {name} で再利用できます)"
                ),
            )
        );
    }
    Ok(())
}

fn import_events(data_dir: &Path, args: &ImportArgs) -> Result<(), Failure> {
    let format = match args.format.as_deref() {
        None => EventFormat::from_path(&args.file),
        Some("ndjson") => EventFormat::Ndjson,
        Some("csv") => EventFormat::Csv,
        Some(other) => {
            return Err(Failure::input(anyhow!(
                "--format: '{other}' is not one of: ndjson, csv"
            )));
        }
    };
    let only_for_tables = [
        ("--map-values", !args.values.is_empty()),
        ("--currency", args.currency.is_some()),
        ("--as-of", args.as_of.is_some()),
        ("--mapping", args.mapping.is_some()),
        ("--save-mapping", args.save_mapping.is_some()),
    ];
    if let Some((option, _)) = only_for_tables.iter().find(|(_, given)| *given) {
        return Err(Failure::input(anyhow!(
            "{option} is for accounts, contacts, subscriptions and touchpoints; events take --map and --format"
        )));
    }
    let mapping = mikawaya_ingest::import::CsvMapping::parse(&args.mappings)
        .map_err(|e| Failure::input(anyhow!("{e}")))?;
    let file = args.file.display().to_string();
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {file}"))
        .map_err(Failure::input)?
        .len();
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let ingest = open_ingest_exclusive(data_dir, store, &args.ingest)?;
    let progress = ProgressBar::new(size);
    progress.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message("importing events");
    let started = std::time::Instant::now();
    let outcome =
        mikawaya_ingest::import::import_file(&ingest, &args.file, format, &mapping, &mut |bytes| {
            progress.set_position(bytes)
        });
    progress.finish_and_clear();
    ingest.shutdown();
    match outcome {
        Ok(Ok(summary)) => {
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{}",
                say(
                    &format!(
                        "imported {} events from {file} in {seconds:.1} s: {} new, {} already there",
                        summary.events, summary.accepted, summary.duplicates
                    ),
                    &format!(
                        "{file} から {} 件のイベントを {seconds:.1} 秒で取り込みました: 新規 {}、既存 {}",
                        summary.events, summary.accepted, summary.duplicates
                    ),
                )
            );
            Ok(())
        }
        Ok(Err(lines)) => {
            for line in &lines {
                let field = if line.field.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", line.field)
                };
                eprintln!(
                    "{file}:{}: {field}{}",
                    line.line,
                    crate::lang::reason(&line.reason)
                );
            }
            Err(Failure::input(anyhow!(
                "{file}: {} lines rejected; nothing was imported",
                lines.len()
            )))
        }
        Err(IngestError::Import(reason)) => Err(Failure::input(anyhow!("{file}: {reason}"))),
        Err(error) => Err(Failure::from(error)),
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum WriteKeyCommand {
    /// Creates a write key and prints it alone on the last line.
    Create {
        /// What sends with it (e.g. "web app").
        #[arg(long)]
        name: String,
    },
}

pub fn writekey(data_dir: &Path, command: WriteKeyCommand) -> Result<(), Failure> {
    let WriteKeyCommand::Create { name } = command;
    let name = Name::parse(&name).map_err(Failure::input)?;
    let store = open_store(data_dir)?;
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    let (key, hash) = auth::new_write_key();
    let created = store
        .create_write_key(&admin, name, hash)
        .map_err(store_failure)?;
    eprintln!(
        "{}",
        say(
            &format!(
                "created write key {} (id {}); it is shown only now",
                created.name, created.id
            ),
            &format!(
                "書き込みキー {} (ID {}) を作成しました。表示されるのは今だけです",
                created.name, created.id
            ),
        )
    );
    println!("{key}");
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// Rebuilds the rollups from the raw event log, not from their snapshot, and reports
    /// what it holds (every start replays what came after the snapshot).
    Rebuild {
        /// Also apply every identify and group call to the store again.
        #[arg(long)]
        reapply_identity: bool,
        #[command(flatten)]
        ingest: IngestArgs,
    },
    /// Exports the raw events.
    Export {
        /// Output format (parquet).
        #[arg(long, default_value = "parquet")]
        format: String,
        /// The folder to write `events.parquet` into.
        dir: PathBuf,
    },
}

pub fn events(data_dir: &Path, command: EventsCommand) -> Result<(), Failure> {
    match command {
        EventsCommand::Rebuild {
            reapply_identity,
            ingest,
        } => {
            let store: Arc<dyn Store> = open_store(data_dir)?;
            if reapply_identity {
                store
                    .put_meta("ingest.identity_applied_through", "-1")
                    .map_err(store_failure)?;
            }
            // From the log itself: the snapshot goes (a new one is written at the end).
            mikawaya_ingest::discard_snapshot(data_dir).map_err(Failure::from)?;
            let started = std::time::Instant::now();
            let service = open_ingest_exclusive(data_dir, store, &ingest)?;
            let (events, catalog) = service
                .read(|rollups| (rollups.events_applied(), rollups.catalog().len()))
                .map_err(Failure::from)?;
            let bytes = service.bytes_on_disk();
            service.shutdown();
            println!(
                "rebuilt rollups from {events} events ({catalog} event names, {:.1} MiB of log) in {:.1} s",
                bytes as f64 / 1_048_576.0,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        EventsCommand::Export { format, dir } => {
            if format != "parquet" {
                return Err(Failure::input(anyhow!(
                    "--format: '{format}' is not one of: parquet"
                )));
            }
            let (path, rows) =
                mikawaya_ingest::export::export_parquet(data_dir, &dir).map_err(Failure::from)?;
            println!("wrote {rows} events to {}", path.display());
            Ok(())
        }
    }
}

pub(crate) fn rejected(file: &str, rows: &[mikawaya_store::RowError]) -> Failure {
    for row in rows {
        eprintln!(
            "{file}:{}: {} {}: {}",
            row.line,
            say("column", "列"),
            row.column,
            crate::lang::reason(&row.reason)
        );
    }
    Failure::input(anyhow!(
        "{file}: {} rows rejected; nothing was imported",
        rows.len()
    ))
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Creates a user.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// admin, leader, csm, partner or viewer.
        #[arg(long)]
        role: String,
        /// Display name (default: the email).
        #[arg(long)]
        name: Option<String>,
        /// The partner of a partner user: its external id (as in your CRM) or its number.
        #[arg(long)]
        partner: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the users with their role, partner and status.
    List,
    /// Changes a user's name, role or partner (`--partner ""` removes it).
    Update {
        /// The user's email.
        email: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New role.
        #[arg(long)]
        role: Option<String>,
        /// New partner: external id or number.
        #[arg(long)]
        partner: Option<String>,
    },
    /// Deactivates a user: logged out, tokens revoked, no login; kept with their history.
    Deactivate {
        /// The user's email.
        email: String,
    },
    /// Activates a deactivated user again.
    Activate {
        /// The user's email.
        email: String,
    },
}

/// Deactivates or activates the user with this email.
fn set_active(
    store: &dyn Store,
    admin: &mikawaya_domain::access::AdminAccess,
    email: &str,
    active: bool,
) -> Result<(), Failure> {
    let user = user_by_email(store, email)?;
    store
        .set_user_active(admin, user.id, active)
        .map_err(store_failure)?;
    Ok(())
}

/// The user with this email (deactivated ones included).
fn user_by_email(store: &dyn Store, email: &str) -> Result<mikawaya_domain::user::User, Failure> {
    let email = Email::parse(email).map_err(Failure::input)?;
    store
        .list_users(&Actor::system().read())
        .map_err(store_failure)?
        .into_iter()
        .find(|u| u.email == email)
        .ok_or_else(|| Failure::input(anyhow!("no user with the email {email}")))
}

pub fn user(data_dir: &Path, command: UserCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    let (email, role, name, partner, password_stdin) = match command {
        UserCommand::Create {
            email,
            role,
            name,
            partner,
            password_stdin,
        } => (email, role, name, partner, password_stdin),
        UserCommand::List => {
            let partners = store
                .list_partners(&Actor::system().read())
                .map_err(store_failure)?;
            for user in store
                .list_users(&Actor::system().read())
                .map_err(store_failure)?
            {
                let partner = user
                    .partner_id
                    .and_then(|id| partners.iter().find(|p| p.id == id))
                    .map(|p| {
                        p.external_id
                            .as_ref()
                            .map_or_else(|| format!("#{}", p.id), ToString::to_string)
                    })
                    .unwrap_or_default();
                let status = if user.deactivated_at.is_some() {
                    "deactivated"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.email,
                    user.name,
                    user.role.as_str(),
                    partner,
                    status
                );
            }
            return Ok(());
        }
        UserCommand::Update {
            email,
            name,
            role,
            partner,
        } => {
            let user = user_by_email(store.as_ref(), &email)?;
            let change = mikawaya_app::people::Change {
                name,
                role,
                partner,
            };
            let changed = mikawaya_app::people::change(store.as_ref(), &admin, user.id, &change)
                .map_err(app_input)?;
            println!(
                "{}",
                say(
                    &format!("{} is now {}", changed.email, changed.role.as_str()),
                    &format!(
                        "{} は {} になりました",
                        changed.email,
                        changed.role.as_str()
                    ),
                )
            );
            return Ok(());
        }
        UserCommand::Deactivate { email } => {
            set_active(store.as_ref(), &admin, &email, false)?;
            println!(
                "{}",
                say(
                    &format!("{email} is deactivated: logged out, tokens revoked, no login"),
                    &format!(
                        "{email} を無効にしました: ログアウト済み、トークン取り消し済み、ログイン不可"
                    ),
                )
            );
            return Ok(());
        }
        UserCommand::Activate { email } => {
            set_active(store.as_ref(), &admin, &email, true)?;
            println!(
                "{}",
                say(
                    &format!("{email} is active again"),
                    &format!("{email} を再び有効にしました"),
                )
            );
            return Ok(());
        }
    };
    let invitation = mikawaya_app::people::Invitation {
        email,
        name,
        role,
        partner,
    };
    let password_hash = if password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("reading the password from standard input")?;
        let password = input.lines().next().unwrap_or("").to_owned();
        mikawaya_app::credentials::check_password(&password).map_err(|e| {
            Failure::input(anyhow!(
                "{} {}",
                say("the password", "パスワード"),
                crate::lang::reason(&e.reason)
            ))
        })?;
        Some(auth::hash_password(&password).map_err(|e| anyhow!("hashing the password: {e}"))?)
    } else {
        None
    };
    let user = mikawaya_app::people::invite(store.as_ref(), &admin, &invitation, password_hash)
        .map_err(app_input)?;
    println!(
        "{}",
        say(
            &format!(
                "created user {} ({}) with id {}",
                user.email,
                user.role.as_str(),
                user.id
            ),
            &format!(
                "ユーザー {} ({}) を ID {} で作成しました",
                user.email,
                user.role.as_str(),
                user.id
            ),
        )
    );
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Creates an API token and prints it alone on the last line.
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// read, write or admin.
        #[arg(long)]
        scope: String,
        /// Act as this user (capped by the scope); default: a service token.
        #[arg(long)]
        user: Option<String>,
    },
}

pub fn token(data_dir: &Path, command: TokenCommand) -> Result<(), Failure> {
    let TokenCommand::Create { name, scope, user } = command;
    let name = Name::parse(&name).map_err(Failure::input)?;
    let scope = Scope::parse(&scope).map_err(Failure::input)?;
    let store = open_store(data_dir)?;
    let user_id = match user {
        Some(email) => {
            let email = Email::parse(&email).map_err(Failure::input)?;
            let found = store.find_login(&email).map_err(store_failure)?;
            Some(
                found
                    .ok_or_else(|| Failure::input(anyhow!("no user with email {email}")))?
                    .0
                    .id,
            )
        }
        None => None,
    };
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    let (secret, hash) = auth::new_token();
    let token = store
        .create_token(&admin, name, scope, user_id, hash)
        .map_err(store_failure)?;
    eprintln!(
        "{}",
        say(
            &format!(
                "created {} token {} (id {}); it is shown only now",
                token.scope.as_str(),
                token.name,
                token.id
            ),
            &format!(
                "{} トークン {} (ID {}) を作成しました。表示されるのは今だけです",
                token.scope.as_str(),
                token.name,
                token.id
            ),
        )
    );
    println!("{secret}");
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ChurnArgs {
    /// t0, YYYY-MM-DD: the cohort is the accounts active on this day.
    #[arg(long)]
    from: String,
    /// t1, YYYY-MM-DD.
    #[arg(long)]
    to: String,
    /// Split by cohort: start_month, plan, tier, partner or owner.
    #[arg(long)]
    by: Option<String>,
    /// With --by: also write the cohort chart (logo churn % per cohort) to this SVG file.
    #[arg(long, requires = "by")]
    svg: Option<PathBuf>,
    /// Activity churn instead of billing churn: an account is churned after this many
    /// days without an event (for usage without billing data; e.g. 28 or 30).
    #[arg(long, conflicts_with_all = ["by", "svg"])]
    activity_days: Option<u32>,
    #[command(flatten)]
    ingest: IngestArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn churn(data_dir: &Path, args: &ChurnArgs) -> Result<(), Failure> {
    let from = mikawaya_domain::value::parse_date(&args.from, "--from").map_err(Failure::input)?;
    let to = mikawaya_domain::value::parse_date(&args.to, "--to").map_err(Failure::input)?;
    let store = open_store(data_dir)?;
    if let Some(days) = args.activity_days {
        return activity_churn(data_dir, store, args, from, to, days);
    }
    let analysis = mikawaya_app::churn::analyse(
        store.as_ref(),
        &Actor::system().read(),
        from,
        to,
        args.by.as_deref(),
    )
    .map_err(|error| match error {
        mikawaya_app::AppError::Invalid(invalid) => {
            Failure::input(anyhow!("--{}: {}", invalid.field, invalid.reason))
        }
        other => Failure::from(anyhow!("{other}")),
    })?;
    if let (Some(by), Some(reports)) = (&args.by, &analysis.cohorts) {
        if let Some(file) = &args.svg {
            let points: Vec<mikawaya_charts::Point> = reports
                .iter()
                .map(|(cohort, report)| mikawaya_charts::Point {
                    label: cohort.clone(),
                    value: report.logo_churn_rate.map(|r| 100.0 * r),
                })
                .collect();
            let title = format!("Logo churn % by {by}, {from} to {to}");
            std::fs::write(file, mikawaya_charts::bars_file(&title, &points))
                .with_context(|| format!("writing {}", file.display()))?;
        }
        if args.json {
            let cohorts: Vec<serde_json::Value> = reports
                .iter()
                .map(|(cohort, report)| {
                    let mut value = serde_json::to_value(report).unwrap_or_default();
                    value["cohort"] = serde_json::json!(cohort);
                    value
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"by": by, "cohorts": cohorts}))
                    .context("writing JSON")?
            );
        } else {
            let percent = |rate: Option<f64>| {
                rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
            };
            println!(
                "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8}",
                by, "accounts", "churn", "MRR ch.", "GRR", "NRR"
            );
            for (cohort, report) in reports {
                println!(
                    "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8}",
                    cohort,
                    report.accounts_at_start,
                    percent(report.logo_churn_rate),
                    percent(report.mrr_churn_rate),
                    percent(report.grr),
                    percent(report.nrr)
                );
            }
        }
        return Ok(());
    }
    let report = analysis.overall;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
    } else {
        let percent = |rate: Option<f64>| {
            rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.2}%", r * 100.0))
        };
        println!("period            {from} to {to}");
        println!("accounts at start {}", report.accounts_at_start);
        println!(
            "churned           {} ({})",
            report.churned,
            percent(report.logo_churn_rate)
        );
        println!("MRR at start      {:.2}", report.mrr_at_start);
        println!(
            "MRR churn         {:.2} ({})",
            report.churned_mrr,
            percent(report.mrr_churn_rate)
        );
        println!("contraction       {:.2}", report.contraction);
        println!("expansion         {:.2}", report.expansion);
        println!("GRR               {}", percent(report.grr));
        println!("NRR               {}", percent(report.nrr));
        println!(
            "logo churn        {} a month, {} a year (by survival)",
            percent(report.logo_churn_monthly),
            percent(report.logo_churn_annual)
        );
    }
    Ok(())
}

/// `mikawaya churn --activity-days N`: activity churn from the usage events.
fn activity_churn(
    data_dir: &Path,
    store: Arc<dyn Store>,
    args: &ChurnArgs,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    days: u32,
) -> Result<(), Failure> {
    let store: Arc<dyn Store> = store;
    let ingest = open_ingest(data_dir, Arc::clone(&store), &args.ingest)?;
    let report = ingest
        .read(|rollups| {
            mikawaya_app::churn::activity(
                store.as_ref(),
                &Actor::system().read(),
                rollups,
                from,
                to,
                days,
            )
        })
        .map_err(Failure::from)?
        .map_err(app_input)?;
    ingest.shutdown();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        return Ok(());
    }
    let percent =
        |rate: Option<f64>| rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.2}%", r * 100.0));
    println!("period            {from} to {to}");
    println!("churned after     {days} days without an event");
    println!("active at start   {}", report.accounts_at_start);
    println!(
        "churned           {} ({})",
        report.churned,
        percent(report.rate)
    );
    println!(
        "activity churn    {} a month, {} a year (by survival)",
        percent(report.monthly),
        percent(report.annual)
    );
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum MetricsCommand {
    /// Stores every metric's (or one's) values for every account: today only, or with
    /// --full daily for 30 days and weekly back 18 months, ending on the last day with
    /// usage events when they ended in the past (what the server does for a metric with
    /// no history).
    Compute {
        /// Only this metric.
        #[arg(long)]
        name: Option<String>,
        /// Recompute the whole history (within the days that have usage events when they
        /// ended before today).
        #[arg(long)]
        full: bool,
        /// The last day, YYYY-MM-DD (default today).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        ingest: IngestArgs,
    },
    /// Defines (or redefines) a metric.
    Define {
        /// Its name (a-z, 0-9, _ or -).
        #[arg(long)]
        name: String,
        /// count, sum, sum_of, distinct_users, ratio, pct_change, days_since, per_month or
        /// per_period (also the account facts: mrr, seats, tenure_days, days_since_touch, nps, csat, ces,
        /// pulse).
        #[arg(long)]
        kind: String,
        /// The event (count, sum, per_month; optional for days_since).
        #[arg(long)]
        event: Option<String>,
        /// The numeric property (sum; per_period of a property's sum).
        #[arg(long)]
        property: Option<String>,
        /// A condition on the event's properties (count, sum, per_month, per_period,
        /// days_since), e.g.
        /// `format=pdf`, `rows>=10`, `plan.tier!=free`, `coupon?` (present); repeat for
        /// several (all must hold).
        #[arg(long = "where", value_name = "CONDITION")]
        filters: Vec<String>,
        /// Window length in days.
        #[arg(long, default_value_t = 28)]
        window_days: u32,
        /// Numerator (ratio): the name of a defined metric.
        #[arg(long)]
        numerator: Option<String>,
        /// Denominator (ratio): the name of a defined metric.
        #[arg(long)]
        denominator: Option<String>,
        /// The metric whose change is measured (pct_change): the name of a defined metric.
        #[arg(long)]
        of: Option<String>,
        /// A part of a sum_of metric: a defined metric's name, with an optional weight
        /// (`likes`, `dislikes`, `-1*failed_logins`, `0.5*seats`); repeat for each.
        #[arg(long = "term", value_name = "[WEIGHT*]METRIC")]
        terms: Vec<String>,
        /// A factor: a ratio's (100 makes it a percentage; default 1) or a pct_change's
        /// (default 100; 1 gives a fraction).
        #[arg(long)]
        scale: Option<f64>,
        /// The period a per_period average is scaled to, in days: --kind per_period
        /// --window-days 84 --period-days 28 is a 28-day average observed over 84 days.
        #[arg(long)]
        period_days: Option<u32>,
        /// per_month and per_period: accounts younger than this many days have no value
        /// (default 1).
        #[arg(long)]
        min_tenure_days: Option<u32>,
        /// days_since: events on the observation day itself count (then 0); by default
        /// only the days before it (yesterday is 1).
        #[arg(long)]
        through_observation_day: bool,
    },
    /// Lists the defined metrics.
    List,
    /// Deletes a defined metric and its stored values (refused while a playbook, the
    /// journey, a plan template or an active success plan names it).
    Delete {
        /// Its name.
        name: String,
    },
    /// Renames a defined metric, its stored values with it (refused while something in
    /// force names it).
    Rename {
        /// Its name now.
        from: String,
        /// Its new name (a-z, 0-9, _ or -).
        to: String,
    },
    /// Writes account × date × metric in one pass: every account the data dir holds, every
    /// observation date from --from to --to every --every, one column per metric, as CSV,
    /// JSON lines or Parquet. With --churn-horizon-days N it is an observation dataset: the
    /// accounts active on each date, with `churned` 1 when none of their subscriptions is
    /// active N days later.
    Table(TableArgs),
    /// Computes a metric for every account as of a date.
    Values {
        /// The metric.
        #[arg(long)]
        name: String,
        /// The observation date d, YYYY-MM-DD: the window is the days before it.
        #[arg(long)]
        as_of: String,
        /// Print JSON: [{"account_external_id": ..., "value": ...}].
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: IngestArgs,
    },
}

fn stored_spec(store: &dyn Store, name: &str) -> Result<MetricSpec, Failure> {
    let raw = store.get_metric(name).map_err(|e| match e {
        StoreError::NotFound { .. } => Failure::input(anyhow!("no metric named {name}")),
        other => Failure::from(other),
    })?;
    serde_json::from_str(&raw)
        .with_context(|| format!("reading the stored metric {name}"))
        .map_err(Failure::from)
}

pub fn metrics(data_dir: &Path, command: MetricsCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    match command {
        MetricsCommand::Define {
            name,
            kind,
            event,
            property,
            filters,
            window_days,
            numerator,
            denominator,
            of,
            terms,
            scale,
            period_days,
            min_tenure_days,
            through_observation_day,
        } => {
            let terms = terms
                .iter()
                .map(|term| {
                    let (weight, metric) = match term.split_once('*') {
                        Some((weight, metric)) => {
                            let weight = weight.trim().parse::<f64>().map_err(|_| {
                                Failure::input(anyhow!(
                                    "--term: '{term}': the weight must be a number"
                                ))
                            })?;
                            (weight, metric.trim())
                        }
                        None => match term.trim().strip_prefix('-') {
                            Some(metric) => (-1.0, metric.trim()),
                            None => (1.0, term.trim()),
                        },
                    };
                    Ok(mikawaya_analytics::metrics::MetricTerm {
                        metric: stored_spec(store.as_ref(), metric)?,
                        weight,
                    })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let filters = filters
                .iter()
                .map(|text| Condition::parse(text))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Failure::input)?;
            let nested = |reference: Option<String>| -> Result<Option<Box<MetricSpec>>, Failure> {
                reference
                    .map(|name| stored_spec(store.as_ref(), &name).map(Box::new))
                    .transpose()
            };
            let spec = MetricSpec {
                name,
                kind,
                event,
                property,
                filters,
                window_days: Some(window_days),
                numerator: nested(numerator)?,
                denominator: nested(denominator)?,
                of: nested(of)?,
                terms,
                scale,
                period_days,
                min_tenure_days,
                through_observation_day,
            };
            let metric = Metric::check(&spec).map_err(Failure::input)?;
            let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
            let json = serde_json::to_string(&spec).context("writing the spec")?;
            store
                .put_metric(&manage, metric.name().as_str(), &json)
                .map_err(store_failure)?;
            println!(
                "defined metric {} ({}, {}-day window)",
                metric.name(),
                spec.kind,
                metric.window_days()
            );
            Ok(())
        }
        MetricsCommand::Compute {
            name,
            full,
            as_of,
            ingest,
        } => {
            let today = as_of_or_today(as_of.as_deref(), "--as-of", store.as_ref(), &ingest)?;
            let metrics = mikawaya_app::series::defined(store.as_ref(), name.as_deref())
                .map_err(|e| anyhow!("{e}"))?;
            if let Some(name) = &name
                && metrics.is_empty()
            {
                return Err(Failure::input(anyhow!("no metric named {name}")));
            }
            let facts = account_facts(store.as_ref())?;
            let store: Arc<dyn Store> = store;
            let service = open_ingest(data_dir, Arc::clone(&store), &ingest)?;
            let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
            let mut days = 0;
            let written = service
                .read(|rollups| {
                    let mut written = 0;
                    for metric in &metrics {
                        let chosen = if full {
                            mikawaya_app::series::history_days(today, rollups.event_span(), metric)
                        } else {
                            vec![today]
                        };
                        days = days.max(chosen.len());
                        written += mikawaya_app::series::compute(
                            store.as_ref(),
                            &manage,
                            &Actor::system().read(),
                            rollups,
                            &facts,
                            std::slice::from_ref(metric),
                            &chosen,
                            &|| true,
                        )?;
                    }
                    Ok::<_, mikawaya_app::AppError>(written)
                })
                .map_err(Failure::from)?;
            service.shutdown();
            let written = written.map_err(|e| anyhow!("{e}"))?;
            println!(
                "stored {written} values: {} metric(s) over up to {days} day(s)",
                metrics.len(),
            );
            Ok(())
        }
        MetricsCommand::List => {
            for (name, spec) in store.list_metrics().map_err(store_failure)? {
                println!("{name}\t{spec}");
            }
            Ok(())
        }
        MetricsCommand::Delete { name } => {
            let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
            mikawaya_app::metrics::delete(store.as_ref(), &manage, &name).map_err(app_input)?;
            println!(
                "{}",
                say(
                    &format!("deleted metric {name} and its stored values"),
                    &format!("指標 {name} と保存済みの値を削除しました"),
                )
            );
            Ok(())
        }
        MetricsCommand::Rename { from, to } => {
            let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
            mikawaya_app::metrics::rename(store.as_ref(), &manage, &from, &to)
                .map_err(app_input)?;
            println!(
                "{}",
                say(
                    &format!("renamed metric {from} to {to}, its stored values with it"),
                    &format!("指標 {from} を {to} に改名しました (保存済みの値も)"),
                )
            );
            Ok(())
        }
        MetricsCommand::Table(args) => metrics_table(data_dir, store, args),
        MetricsCommand::Values {
            name,
            as_of,
            json,
            ingest,
        } => {
            let as_of =
                mikawaya_domain::value::parse_date(&as_of, "--as-of").map_err(Failure::input)?;
            let metric =
                Metric::check(&stored_spec(store.as_ref(), &name)?).map_err(Failure::input)?;
            let account_rows = all_account_rows(store.as_ref())?;
            let accounts: Vec<Subject> = account_rows.iter().map(Subject::of).collect();
            let names = external_ids(&account_rows);
            let facts = account_facts(store.as_ref())?;
            let store: Arc<dyn Store> = store;
            let service = open_ingest(data_dir, store, &ingest)?;
            let values = service
                .read(|rollups| {
                    let source = mikawaya_analytics::metrics::WithFacts {
                        usage: rollups,
                        facts: &facts,
                    };
                    mikawaya_analytics::metrics::values(&metric, &source, &accounts, as_of)
                })
                .map_err(Failure::from)?;
            service.shutdown();
            if json {
                let rows: Vec<serde_json::Value> = values
                    .iter()
                    .map(|(account, value)| serde_json::json!({"account_external_id": names.get(account), "value": value}))
                    .collect();
                println!("{}", serde_json::to_string(&rows).context("writing JSON")?);
            } else {
                for (account, value) in &values {
                    println!(
                        "{}\t{}",
                        account_label(&names, *account),
                        value.map_or_else(|| "missing".to_owned(), |v| format!("{v}"))
                    );
                }
            }
            Ok(())
        }
    }
}

/// What `metrics table` takes.
#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// The metrics, comma-separated (defined ones).
    #[arg(long)]
    names: String,
    /// The first observation date, YYYY-MM-DD (default 12 weeks before --to).
    #[arg(long)]
    from: Option<String>,
    /// The last observation date (default today, or the day after the last usage event
    /// when the events ended in the past).
    #[arg(long)]
    to: Option<String>,
    /// Days between observation dates: 7d, 2w or 7.
    #[arg(long, default_value = "7d")]
    every: String,
    /// csv, jsonl or parquet (parquet needs --out).
    #[arg(long, default_value = "csv")]
    format: String,
    /// Label each row churned or not this many days after its date (rows only for
    /// accounts active on the date).
    #[arg(long)]
    churn_horizon_days: Option<u32>,
    /// The other observation scheme: each account once per renewal (a subscription's
    /// end date), this many days before it, labelled churned when it did not renew.
    #[arg(long, conflicts_with = "churn_horizon_days")]
    before_renewal_days: Option<u32>,
    /// Write to this file instead of the standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    ingest: IngestArgs,
}

fn metrics_table(data_dir: &Path, store: Arc<dyn Store>, args: TableArgs) -> Result<(), Failure> {
    use mikawaya_app::table::{PreparedTable, TableFormat, TableRequest};
    let ingest = &args.ingest;
    let input = |e: mikawaya_domain::Invalid| {
        Failure::input(anyhow!("--{}: {}", e.field.replace('_', "-"), e.reason))
    };
    let every = mikawaya_app::table::parse_every(&args.every).map_err(input)?;
    let parquet = match (mikawaya_app::table::is_parquet(&args.format), &args.out) {
        (true, Some(path)) => Some(path.clone()),
        (true, None) => {
            return Err(Failure::input(anyhow!(
                "--format parquet writes a file: add --out FILE"
            )));
        }
        (false, _) => None,
    };
    let format = match parquet {
        Some(_) => TableFormat::Csv,
        None => TableFormat::parse(&args.format).map_err(input)?,
    };
    let date = |raw: &Option<String>, flag: &str| {
        raw.as_deref()
            .map(|raw| mikawaya_domain::value::parse_date(raw, flag))
            .transpose()
            .map_err(Failure::input)
    };
    let request = TableRequest {
        names: &args.names,
        from: date(&args.from, "--from")?,
        to: date(&args.to, "--to")?,
        every_days: every,
        horizon_days: args.churn_horizon_days,
        before_renewal_days: args.before_renewal_days,
        format,
    };
    let today = ingest.clock(store.as_ref())?.today();
    let store: Arc<dyn Store> = store;
    let service = open_ingest(data_dir, Arc::clone(&store), ingest)?;
    let span = service
        .read(|rollups| rollups.event_span())
        .map_err(Failure::from)?;
    let PreparedTable {
        plan,
        accounts,
        terms,
        facts,
    } = mikawaya_app::table::prepare(
        store.as_ref(),
        &Actor::system().read(),
        span,
        today,
        &request,
    )
    .map_err(|e| match e {
        mikawaya_app::AppError::Invalid(invalid) => input(invalid),
        other => Failure::from(anyhow!("{other}")),
    })?;
    let mut sink: Box<dyn std::io::Write> = match &args.out {
        Some(_) if parquet.is_some() => Box::new(std::io::sink()),
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))
                .map_err(Failure::input)?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = service
        .read(|rollups| -> Result<usize, Failure> {
            let source = mikawaya_analytics::metrics::WithFacts {
                usage: rollups,
                facts: &facts,
            };
            if let Some(path) = &parquet {
                let failed = |e: mikawaya_ingest::IngestError| Failure::input(anyhow!("{e}"));
                let (mut file, partial) = mikawaya_ingest::export::TableParquet::create(
                    path,
                    &plan.metric_names(),
                    plan.labelled(),
                )
                .map_err(failed)?;
                plan.parquet_rows(
                    &source,
                    &accounts,
                    &terms,
                    mikawaya_domain::Visibility::All,
                    &mut file,
                )
                .map_err(|e| Failure::input(anyhow!("{e}")))?;
                file.finish(&partial, path).map_err(failed)?;
                return Ok(plan.dates().len());
            }
            sink.write_all(&plan.header())
                .context("writing the table")?;
            let mut buffer = Vec::new();
            for batch in accounts.chunks(256) {
                buffer.clear();
                plan.write_rows(
                    &source,
                    batch,
                    &terms,
                    mikawaya_domain::Visibility::All,
                    &mut buffer,
                );
                sink.write_all(&buffer).context("writing the table")?;
            }
            sink.flush().context("writing the table")?;
            Ok(plan.dates().len())
        })
        .map_err(Failure::from)??;
    service.shutdown();
    if let Some(path) = &args.out {
        eprintln!(
            "{}",
            say(
                &format!(
                    "wrote {} accounts × {written} dates to {}",
                    accounts.len(),
                    path.display()
                ),
                &format!(
                    "{} 件のアカウント × {written} 日付を {} に書き出しました",
                    accounts.len(),
                    path.display()
                ),
            )
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// The metric to test.
    #[arg(long, required_unless_present_any = ["scorecard", "scorecard_file"])]
    metric: Option<String>,
    /// The scorecard to test instead: `default` (built in), or `in-force` (the segment
    /// scorecards, then `default`: the health every screen shows).
    #[arg(long, conflicts_with = "metric")]
    scorecard: Option<String>,
    /// A scorecard definition (JSON) to test instead.
    #[arg(long, conflicts_with_all = ["metric", "scorecard"])]
    scorecard_file: Option<PathBuf>,
    /// Churn within this many days after each observation date counts.
    #[arg(long, default_value_t = 90)]
    horizon_days: i32,
    /// Last observation date, YYYY-MM-DD (default: today minus the horizon).
    #[arg(long)]
    to: Option<String>,
    /// First observation date (default: a year before --to).
    #[arg(long)]
    from: Option<String>,
    /// Days between observation dates.
    #[arg(long, default_value_t = 28)]
    every_days: i32,
    /// Which way is risky: lower-is-riskier (usage) or higher-is-riskier (e.g. days_since).
    #[arg(long)]
    direction: Option<String>,
    /// Also write the calibration chart (churn rate per risk decile) to this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// A second scorecard to test on the same observations, side by side (`default`).
    #[arg(long)]
    versus: Option<String>,
    /// A second scorecard definition (JSON) to test side by side.
    #[arg(long, conflicts_with = "versus")]
    versus_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ingest: IngestArgs,
}

fn load_scorecard(name: Option<&str>, file: Option<&Path>) -> Result<Scorecard, Failure> {
    match (name, file) {
        (_, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(Failure::input)?;
            let spec: ScorecardSpec = serde_json::from_str(&text)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
            Scorecard::check(&spec).map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))
        }
        (Some("default") | None, None) => Ok(Scorecard::default_card()),
        (Some(other), None) => Err(Failure::input(anyhow!(
            "no scorecard named {other} (built in: default; or pass --scorecard-file)"
        ))),
    }
}

pub fn backtest_metric(data_dir: &Path, args: &BacktestArgs) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let scoring = match &args.metric {
        Some(name) => {
            let spec = stored_spec(store.as_ref(), name)?;
            let metric = Metric::check(&spec).map_err(Failure::input)?;
            let higher_is_riskier = match args.direction.as_deref() {
                None => spec.kind == "days_since",
                Some("higher-is-riskier") => true,
                Some("lower-is-riskier") => false,
                Some(other) => {
                    return Err(Failure::input(anyhow!(
                        "--direction: '{other}' is not one of: lower-is-riskier, higher-is-riskier"
                    )));
                }
            };
            Scoring::Metric {
                metric: Box::new(metric),
                higher_is_riskier,
            }
        }
        None if args.scorecard.as_deref() == Some("in-force") => Scoring::InForce,
        None => Scoring::Card(load_scorecard(
            args.scorecard.as_deref(),
            args.scorecard_file.as_deref(),
        )?),
    };
    let label = match (&args.metric, &scoring) {
        (Some(name), _) => format!("metric {name}"),
        (None, Scoring::Card(card)) => format!("scorecard {}", card.name()),
        (None, Scoring::InForce) => "the scorecards in force".to_owned(),
        (None, Scoring::Set(_) | Scoring::Metric { .. }) => String::new(),
    };
    if args.horizon_days < 1 || args.every_days < 1 {
        return Err(Failure::input(anyhow!(
            "--horizon-days and --every-days must be at least 1"
        )));
    }
    let store: Arc<dyn Store> = store;
    let service = open_ingest(data_dir, Arc::clone(&store), &args.ingest)?;
    let to = match &args.to {
        Some(raw) => mikawaya_domain::value::parse_date(raw, "--to").map_err(Failure::input)?,
        None => {
            let today = data_today(store.as_ref(), &service, &args.ingest)?;
            mikawaya_domain::value::add_days(today, -i64::from(args.horizon_days)).ok_or_else(
                || Failure::input(anyhow!("--horizon-days reaches before the calendar begins")),
            )?
        }
    };
    let from = match &args.from {
        Some(raw) => mikawaya_domain::value::parse_date(raw, "--from").map_err(Failure::input)?,
        None => to
            .checked_sub(jiff::Span::new().days(365))
            .map_err(|e| anyhow!("{e}"))?,
    };
    let dates =
        mikawaya_app::backtest::observation_dates(from, to, args.every_days).map_err(app_input)?;
    let versus = match (&args.versus, &args.versus_file) {
        (None, None) => None,
        (name, file) => Some(Scoring::Card(load_scorecard(
            name.as_deref(),
            file.as_deref(),
        )?)),
    };
    let mut scorings = vec![scoring];
    scorings.extend(versus);
    let results = service
        .read(|rollups| {
            mikawaya_app::backtest::run(
                store.as_ref(),
                &Actor::system().read(),
                rollups,
                &scorings,
                &dates,
                args.horizon_days,
            )
        })
        .map_err(Failure::from)?;
    service.shutdown();
    let mut results = results.map_err(app_input)?.into_iter();
    let (Some(result), versus_result) = (results.next(), results.next()) else {
        return Err(Failure::from(anyhow!("the backtest returned no result")));
    };
    if let Some(file) = &args.svg {
        let points: Vec<mikawaya_charts::Point> = result
            .calibration
            .iter()
            .map(|row| mikawaya_charts::Point {
                label: format!("D{}", row.decile),
                value: Some(100.0 * row.churn_rate),
            })
            .collect();
        let title = format!(
            "{label}: churn rate % per risk decile (D10 riskiest), horizon {} days",
            args.horizon_days
        );
        std::fs::write(file, mikawaya_charts::bars_file(&title, &points))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    if args.json {
        let mut json = serde_json::to_value(&result).context("writing JSON")?;
        if let (Some(versus), Some(object)) = (&versus_result, json.as_object_mut()) {
            object.insert(
                "versus".to_owned(),
                serde_json::to_value(versus).context("writing JSON")?,
            );
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&json).context("writing JSON")?
        );
    } else {
        let show =
            |value: Option<f64>| value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
        println!(
            "{label} ({} observation dates from {from} to {to}, horizon {} days)",
            dates.len(),
            args.horizon_days
        );
        println!("observations {} (churned {})", result.n, result.n_churned);
        println!(
            "AUC {}  top-decile lift {}",
            show(result.auc),
            show(result.top_decile_lift)
        );
        for row in &result.calibration {
            println!(
                "  decile {:>2}: n {:>6}  churn rate {:.3}",
                row.decile, row.n, row.churn_rate
            );
        }
        if let Some(versus) = &versus_result {
            println!(
                "versus: observations {} (churned {}), AUC {}  top-decile lift {}",
                versus.n,
                versus.n_churned,
                show(versus.auc),
                show(versus.top_decile_lift)
            );
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The observation date, YYYY-MM-DD (default: today).
    #[arg(long)]
    as_of: Option<String>,
    /// Score every account by this scorecard alone (`default` is built in) instead of the
    /// health in force (segment scorecards, then `default`: what pages and the API show).
    #[arg(long)]
    scorecard: Option<String>,
    /// A scorecard definition (JSON) to score every account by instead.
    #[arg(long)]
    scorecard_file: Option<PathBuf>,
    /// Print JSON: [{"account_id", "account_external_id", "card", "score", "shown",
    /// "colour", "measures"}].
    #[arg(long)]
    json: bool,
    /// Store the health in force as the snapshot of --as-of (what pages and dashboards
    /// read), instead of printing it.
    #[arg(long, conflicts_with_all = ["scorecard", "scorecard_file", "json"])]
    store: bool,
    /// With --store: also every --every-days back to this day.
    #[arg(long, requires = "store")]
    from: Option<String>,
    /// Step of --from, in days.
    #[arg(long, default_value_t = 7)]
    every_days: u32,
    #[command(flatten)]
    ingest: IngestArgs,
}

pub fn health(data_dir: &Path, args: &HealthArgs) -> Result<(), Failure> {
    let what_if = match (&args.scorecard, &args.scorecard_file) {
        (None, None) => None,
        (name, file) => Some(load_scorecard(name.as_deref(), file.as_deref())?),
    };
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let as_of = as_of_or_today(
        args.as_of.as_deref(),
        "--as-of",
        store.as_ref(),
        &args.ingest,
    )?;
    if args.store {
        let from = match &args.from {
            Some(raw) => {
                mikawaya_domain::value::parse_date(raw, "--from").map_err(Failure::input)?
            }
            None => as_of,
        };
        let days = mikawaya_app::health::days_back(from, as_of, args.every_days);
        let service = open_ingest(data_dir, Arc::clone(&store), &args.ingest)?;
        let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
        let written = service
            .read(|rollups| {
                mikawaya_app::health::snapshot(
                    store.as_ref(),
                    &manage,
                    &Actor::system().read(),
                    rollups,
                    &days,
                )
            })
            .map_err(Failure::from)?;
        service.shutdown();
        let written = written.map_err(|e| anyhow!("{e}"))?;
        println!("stored {written} health scores over {} day(s)", days.len());
        return Ok(());
    }
    let accounts = store
        .all_accounts(&Actor::system().read())
        .map_err(store_failure)?;
    let names = external_ids(&accounts);
    let facts = account_facts(store.as_ref())?;
    let service = open_ingest(data_dir, Arc::clone(&store), &args.ingest)?;
    let health = service
        .read(|rollups| match &what_if {
            Some(card) => {
                let source = mikawaya_analytics::metrics::WithFacts {
                    usage: rollups,
                    facts: &facts,
                };
                Ok(card.score(&source, &Scored::from_accounts(&accounts), as_of))
            }
            None => mikawaya_app::health::scores_on(
                store.as_ref(),
                &Actor::system().read(),
                rollups,
                as_of,
            ),
        })
        .map_err(Failure::from)?;
    service.shutdown();
    let health = health.map_err(|e| anyhow!("{e}"))?;
    if args.json {
        let rows: Vec<serde_json::Value> = health
            .iter()
            .map(|(account, h)| serde_json::json!({"account_id": account.get(), "account_external_id": names.get(account), "card": h.card, "score": h.score, "shown": h.score.map(mikawaya_app::health::shown), "colour": h.colour, "measures": h.measures}))
            .collect();
        println!("{}", serde_json::to_string(&rows).context("writing JSON")?);
    } else {
        for (account, h) in &health {
            let score = h.score.map_or_else(
                || "n/a".to_owned(),
                |s| mikawaya_app::health::shown(s).to_string(),
            );
            let colour = h.colour.map_or("", |c| match c {
                Colour::Red => "red",
                Colour::Yellow => "yellow",
                Colour::Green => "green",
            });
            println!("{}\t{score}\t{colour}", account_label(&names, *account));
        }
    }
    Ok(())
}

fn all_account_rows(store: &dyn Store) -> Result<Vec<mikawaya_domain::account::Account>, Failure> {
    store
        .all_accounts(&Actor::system().read())
        .map_err(store_failure)
}

/// Each account's external id, for output that names accounts as the customer does.
pub(crate) fn external_ids(
    accounts: &[mikawaya_domain::account::Account],
) -> std::collections::HashMap<mikawaya_domain::AccountId, String> {
    accounts
        .iter()
        .filter_map(|a| a.external_id.as_ref().map(|e| (a.id, e.to_string())))
        .collect()
}

/// An account in text output: its external id, else `#` and its id.
pub(crate) fn account_label(
    names: &std::collections::HashMap<mikawaya_domain::AccountId, String>,
    account: mikawaya_domain::AccountId,
) -> String {
    names
        .get(&account)
        .cloned()
        .unwrap_or_else(|| format!("#{account}"))
}

pub fn backup(data_dir: &Path, dir: &Path) -> Result<(), Failure> {
    let kind = match database_url(data_dir)? {
        Some(_) => mikawaya_app::backup::StoreKind::Postgres,
        None => mikawaya_app::backup::StoreKind::Sqlite,
    };
    if kind == mikawaya_app::backup::StoreKind::Sqlite
        && !data_dir.join(SqliteStore::FILE_NAME).is_file()
    {
        return Err(Failure::input(anyhow!(
            "{} holds no Mikawaya data (no {}): give the data dir with --data-dir",
            data_dir.display(),
            SqliteStore::FILE_NAME
        )));
    }
    let store = open_store(data_dir)?;
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    let manifest = mikawaya_app::backup::backup(store.as_ref(), kind, &admin, data_dir, dir)
        .map_err(app_input)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let segments = manifest
        .files
        .iter()
        .filter(|f| f.path.ends_with(".seg"))
        .count();
    let mib = bytes as f64 / 1_048_576.0;
    println!(
        "{}",
        say(
            &format!(
                "wrote a backup of {} to {}: {} files, {segments} event log segments, {mib:.1} MiB (restore it with mikawaya restore {} --data-dir NEW_DIR)",
                data_dir.display(),
                dir.display(),
                manifest.files.len(),
                dir.display()
            ),
            &format!(
                "{} のバックアップを {} に書きました: {} ファイル、イベントログのセグメント {segments} 個、{mib:.1} MiB (戻すには mikawaya restore {} --data-dir 新しいフォルダ)",
                data_dir.display(),
                dir.display(),
                manifest.files.len(),
                dir.display()
            ),
        )
    );
    Ok(())
}

pub fn restore(data_dir: &Path, backup: &Path) -> Result<(), Failure> {
    // The database to restore a PostgreSQL store into is given on the command line (the
    // new data dir has no settings file yet).
    let url = DATABASE_URL.get().cloned().flatten();
    let restored =
        mikawaya_app::backup::restore(backup, data_dir, url.as_deref()).map_err(app_input)?;
    println!(
        "{}",
        say(
            &format!(
                "restored {} into {}: {} accounts, {} usage events",
                backup.display(),
                data_dir.display(),
                restored.accounts,
                restored.events
            ),
            &format!(
                "{} を {} に戻しました: アカウント {} 件、利用イベント {} 件",
                backup.display(),
                data_dir.display(),
                restored.accounts,
                restored.events
            ),
        )
    );
    Ok(())
}

/// `mikawaya migrate --to URL`: the data dir's SQLite store and usage events copied into an
/// empty PostgreSQL database and compared, table by table.
pub fn migrate(data_dir: &Path, to: &str) -> Result<(), Failure> {
    if !data_dir.join(SqliteStore::FILE_NAME).is_file() {
        return Err(Failure::input(anyhow!(
            "{} holds no Mikawaya data (no {}): give the data dir with --data-dir",
            data_dir.display(),
            SqliteStore::FILE_NAME
        )));
    }
    if mikawaya_ingest::is_held(data_dir) {
        return Err(Failure::input(anyhow!(
            "{}",
            say(
                "a server is running on this data dir: stop it, then migrate (the copy must see everything)",
                "このデータディレクトリでサーバーが動いています: 停止してから移行してください",
            )
        )));
    }
    // The file at this build's schema, as the database will be.
    drop(open_store_file(data_dir)?);
    let target = match PostgresStore::connect(to) {
        Ok(store) => store,
        Err(StoreError::Invalid(invalid)) => {
            return Err(Failure::input(anyhow!("--to: {invalid}")));
        }
        Err(error) => {
            return Err(Failure::from(anyhow!(
                "connecting to {}: {error}",
                redacted(to)
            )));
        }
    };
    let file = data_dir.join(SqliteStore::FILE_NAME);
    let tables = target
        .copy_from_sqlite(&file, |table, rows| {
            eprintln!("{table}\t{rows}");
        })
        .map_err(|error| match error {
            StoreError::Conflict { reason, .. } => Failure::input(anyhow!("--to: {reason}")),
            other => Failure::from(anyhow!("copying the store: {other}")),
        })?;
    let events = mikawaya_ingest::copy_events(data_dir, to).map_err(|error| match error {
        IngestError::Import(reason) => Failure::input(anyhow!("--to: {reason}")),
        other => Failure::from(anyhow!("copying the usage events: {other}")),
    })?;
    let rows: u64 = tables.iter().map(|table| table.rows).sum();
    for table in &tables {
        println!(
            "{}\t{}\t{}\t{}",
            table.table,
            table.rows,
            &table.checksum[..16],
            if table.matches() { "same" } else { "DIFFERENT" }
        );
    }
    println!(
        "usage_events\t{}\t-\t{}",
        events.events,
        if events.same { "same" } else { "DIFFERENT" }
    );
    if !events.same {
        return Err(Failure::from(anyhow!(
            "the usage events differ after the copy ({} in the log, {} in PostgreSQL)",
            events.events,
            events.copied
        )));
    }
    println!(
        "{}",
        say(
            &format!(
                "copied {} tables ({rows} rows) and {} usage events into {}, each compared: start the servers with --database-url (or database_url in mikawaya.toml)",
                tables.len(),
                events.events,
                redacted(to)
            ),
            &format!(
                "{} 個のテーブル ({rows} 行) と利用イベント {} 件を {} にコピーし、すべて照合しました: サーバーは --database-url (または mikawaya.toml の database_url) で起動してください",
                tables.len(),
                events.events,
                redacted(to)
            ),
        )
    );
    Ok(())
}

/// The data dir's SQLite file, opened (and migrated) whatever `--database-url` says.
fn open_store_file(data_dir: &Path) -> Result<SqliteStore, Failure> {
    SqliteStore::open_dir(data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))
        .map_err(Failure::from)
}
