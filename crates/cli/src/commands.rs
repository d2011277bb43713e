//! The subcommands.

use crate::Failure;
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use mikawaya_demo::{DemoOptions, Locale};
use mikawaya_domain::Actor;
use mikawaya_domain::PartnerId;
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::user::NewUser;
use mikawaya_domain::value::{Email, Name};
use mikawaya_import::{ImportError, ImportKind, parse_file, parse_mappings};
use mikawaya_server::{AppState, ServerConfig, auth};
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::{Store, StoreError};
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

fn open_store(data_dir: &Path) -> Result<SqliteStore, Failure> {
    SqliteStore::open_dir(data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))
        .map_err(Failure::from)
}

/// Store errors that are the user's doing exit with 2.
fn store_failure(error: StoreError) -> Failure {
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
}

pub fn serve(data_dir: &Path, args: ServeArgs) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    run_server(Arc::new(store), &args, None)
}

fn run_server(
    store: Arc<dyn Store>,
    args: &ServeArgs,
    greeting: Option<String>,
) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let config = ServerConfig {
            secure_cookies: !args.insecure_cookies,
            ..ServerConfig::default()
        };
        let state = AppState::new(store, config);
        tracing::info!(%address, "mikawaya listening");
        println!("Mikawaya is running at http://{address}/");
        if let Some(greeting) = greeting {
            println!("{greeting}");
        }
        mikawaya_server::serve(listener, state, shutdown_signal())
            .await
            .context("serving")?;
        tracing::info!("mikawaya stopped");
        Ok::<(), Failure>(())
    })
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
    #[command(flatten)]
    server: ServeArgs,
}

pub fn demo(data_dir: &Path, args: DemoArgs) -> Result<(), Failure> {
    let locale = Locale::parse(&args.locale).map_err(Failure::input)?;
    let as_of = match &args.as_of {
        Some(raw) => mikawaya_domain::value::parse_date(raw, "as_of").map_err(Failure::input)?,
        None => jiff::Zoned::now().date(),
    };
    let store = Arc::new(open_store(data_dir)?);
    let system = Actor::system();
    let existing = store
        .count_accounts(&system.read(), &Default::default())
        .map_err(store_failure)?;
    let greeting = format!("Log in as admin@mikawaya.example with password {DEMO_PASSWORD}");
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
        let company = mikawaya_demo::generate(options).map_err(Failure::input)?;
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
            "demo company ready in {:.1} s: {} accounts ({} churned), {} contacts, {} subscription rows, {} touchpoints, {} users",
            started.elapsed().as_secs_f64(),
            summary.accounts,
            summary.churned,
            summary.contacts,
            summary.subscriptions,
            summary.touchpoints,
            summary.users
        );
    }
    if args.serve {
        run_server(store, &args.server, Some(greeting))
    } else {
        println!("{greeting}");
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// accounts, contacts, subscriptions or touchpoints.
    kind: String,
    /// The CSV file (UTF-8, UTF-8 with BOM, or Shift_JIS).
    file: PathBuf,
    /// Header mapping SOURCE=TARGET (repeatable), e.g. --map "Company Name=name".
    #[arg(long = "map")]
    mappings: Vec<String>,
}

pub fn import(data_dir: &Path, args: ImportArgs) -> Result<(), Failure> {
    let kind = ImportKind::parse(&args.kind).map_err(Failure::input)?;
    let mappings = parse_mappings(&args.mappings).map_err(Failure::input)?;
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
    let parsed = parse_file(kind, &bytes, &mappings, &mut |position| {
        progress.set_position(position)
    });
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(ImportError::Rows(rows)) => {
            progress.abandon();
            return Err(rejected(&file, &rows));
        }
        Err(error) => {
            progress.abandon();
            return Err(Failure::input(anyhow!("{file}: {error}")));
        }
    };
    progress.set_message("writing");
    let store = open_store(data_dir)?;
    let access = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let (encoding, ignored) = (parsed.encoding, parsed.ignored_columns.clone());
    let summary = match store.import(&access, parsed.batch) {
        Ok(summary) => summary,
        Err(StoreError::ImportRejected(rows)) => {
            progress.abandon();
            return Err(rejected(&file, &rows));
        }
        Err(error) => return Err(store_failure(error)),
    };
    progress.finish_and_clear();
    if !ignored.is_empty() {
        eprintln!(
            "{file}: columns left out (map them with --map SOURCE=TARGET): {}",
            ignored.join(", ")
        );
    }
    println!(
        "imported {} {} rows from {file} ({encoding:?}): {} created, {} updated",
        summary.rows,
        kind.as_str(),
        summary.created,
        summary.updated
    );
    Ok(())
}

fn rejected(file: &str, rows: &[mikawaya_store::RowError]) -> Failure {
    for row in rows {
        eprintln!("{file}:{}: column {}: {}", row.line, row.column, row.reason);
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
        /// Partner id, for partner users.
        #[arg(long)]
        partner: Option<i64>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn user(data_dir: &Path, command: UserCommand) -> Result<(), Failure> {
    let UserCommand::Create {
        email,
        role,
        name,
        partner,
        password_stdin,
    } = command;
    let email = Email::parse(&email).map_err(Failure::input)?;
    let name = Name::parse(name.as_deref().unwrap_or(email.as_str())).map_err(Failure::input)?;
    let role = Role::parse(&role).map_err(Failure::input)?;
    let new_user =
        NewUser::new(email, name, role, partner.map(PartnerId::new)).map_err(Failure::input)?;
    let password_hash = if password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("reading the password from standard input")?;
        let password = input.lines().next().unwrap_or("").to_owned();
        if password.chars().count() < 12 {
            return Err(Failure::input(anyhow!(
                "the password must be at least 12 characters"
            )));
        }
        Some(auth::hash_password(&password).map_err(|e| anyhow!("hashing the password: {e}"))?)
    } else {
        None
    };
    let store = open_store(data_dir)?;
    let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
    let user = store
        .create_user(&admin, new_user, password_hash)
        .map_err(store_failure)?;
    println!(
        "created user {} ({}) with id {}",
        user.email,
        user.role.as_str(),
        user.id
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
        "created {} token {} (id {}); it is shown only now",
        token.scope.as_str(),
        token.name,
        token.id
    );
    println!("{secret}");
    Ok(())
}

pub fn backup(data_dir: &Path, file: &Path) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    store.backup(file).map_err(store_failure)?;
    println!("wrote a consistent copy of the store to {}", file.display());
    Ok(())
}
