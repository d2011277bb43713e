//! The `mikawaya` binary: flags, configuration, start-up and exit codes. It wires the
//! crates together and holds no business rules of its own.
//!
//! Exit codes: 0 success; 1 our failure (IO, database); 2 the user's input was refused
//! (bad flags, a rejected import, an invalid value). Errors go to stderr with their chain.

mod commands;
mod feedback;
mod fields;
mod forecast;
mod journey;
mod lang;
mod plans;
mod scorecard;
mod settings;
mod today;
mod voice;
mod work;

/// mimalloc instead of the system allocator: ingestion allocates on parsing threads and
/// frees on the applier, where glibc's allocator spent a fifth of the import's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Mikawaya: an open-source Customer Success Platform.
#[derive(Debug, Parser)]
#[command(name = "mikawaya", version, about)]
struct Cli {
    /// Where the data lives (one SQLite file and its companions).
    #[arg(
        long,
        global = true,
        env = "MIKAWAYA_DATA_DIR",
        default_value = "./mikawaya-data"
    )]
    data_dir: PathBuf,
    /// A PostgreSQL database for the store instead of the data dir's SQLite file
    /// (postgres://user:password@host:port/database); also `database_url` in
    /// DATA_DIR/mikawaya.toml. The usage events go there too, so several servers can share it.
    #[arg(
        long,
        global = true,
        env = "MIKAWAYA_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve(commands::ServeArgs),
    /// Fills the data dir with a simulated customer base.
    Demo(commands::DemoArgs),
    /// Imports a CSV file of accounts, contacts, subscriptions or touchpoints (all or nothing),
    /// or an NDJSON or CSV file of usage events.
    Import(commands::ImportArgs),
    /// Manages users.
    #[command(subcommand)]
    User(commands::UserCommand),
    /// Manages API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Manages write keys for the Segment-compatible tracking API.
    #[command(subcommand)]
    Writekey(commands::WriteKeyCommand),
    /// Works with the usage event log.
    #[command(subcommand)]
    Events(commands::EventsCommand),
    /// Defines behavioural metrics and computes them per account.
    #[command(subcommand)]
    Metrics(commands::MetricsCommand),
    /// Health scores (0-100, red/yellow/green) of every account from a scorecard.
    Health(commands::HealthArgs),
    /// A person's Today: their accounts that need attention, ranked, with the reasons.
    Today(today::TodayArgs),
    /// The accounts' custom fields: define, list, delete.
    #[command(subcommand)]
    Fields(fields::FieldsCommand),
    /// The scorecards in force: show, versions, save, rollback, suggest one from the history.
    #[command(subcommand)]
    Scorecard(scorecard::ScorecardCommand),
    /// Success plans: list, templates, measure.
    #[command(subcommand)]
    Plans(plans::PlansCommand),
    /// The voice of the customer: NPS, CSAT and CES by segment and month, friction and delight.
    Voice(voice::VoiceArgs),
    /// Hosted surveys: definitions, sends by email or in-product link, response rates.
    #[command(subcommand)]
    Surveys(feedback::SurveysCommand),
    /// Feedback and feature requests: import a CSV of items, the ranked requests, the
    /// product tracker's webhook secret.
    #[command(subcommand)]
    Feedback(feedback::FeedbackCommand),
    /// The customer journey: its stages and rules, the funnel, a replay of its rules.
    #[command(subcommand)]
    Journey(journey::JourneyCommand),
    /// Tests whether a metric or scorecard predicts churn: AUC, top-decile lift and calibration over past dates.
    Backtest(commands::BacktestArgs),
    /// Logo churn, MRR churn, GRR and NRR over a period, from the subscription history.
    Churn(commands::ChurnArgs),
    /// The churn forecast: train, predict, backtest.
    #[command(subcommand)]
    Forecast(forecast::ForecastCommand),
    /// Playbook rules.
    #[command(subcommand)]
    Rules(work::RulesCommand),
    /// Messages queued by playbooks.
    #[command(subcommand)]
    Outbox(work::OutboxCommand),
    /// Playbooks: starters, versions, effectiveness.
    #[command(subcommand)]
    Playbooks(work::PlaybooksCommand),
    /// Tasks (calls to action).
    #[command(subcommand)]
    Tasks(work::TasksCommand),
    /// Touch tiers and ownership.
    #[command(subcommand)]
    Tiers(work::TiersCommand),
    /// Each owner's book of business.
    Book {
        /// The day (YYYY-MM-DD; default today in the data dir's business time zone):
        /// accounts paying and ARR on that day; tasks as they stand, overdue relative to it.
        #[arg(long)]
        as_of: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The data dir's default currency and business time zone: shows them, or sets one.
    Settings {
        #[command(subcommand)]
        command: Option<settings::SettingsCommand>,
    },
    /// Writes a backup of the whole data dir (store, every usage event, settings) into the
    /// new folder DIR, with a manifest of checksums; the server may keep running.
    Backup {
        /// The folder to create (must not exist).
        dir: PathBuf,
    },
    /// Copies the data dir's SQLite store and every usage event into an empty PostgreSQL
    /// database, then compares every table (rows and checksums) and the events; refused
    /// while a server runs on the data dir, or when the database is not empty.
    Migrate {
        /// The database: postgres://user:password@host:port/database.
        #[arg(long)]
        to: String,
    },
    /// Restores a backup folder into --data-dir (which must not exist or be empty), after
    /// checking every file against the manifest; then opens it and reports what it holds.
    /// A backup of a PostgreSQL store needs --database-url: an empty database to fill.
    Restore {
        /// The backup folder.
        backup: PathBuf,
    },
}

/// A failure with its exit code.
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// The user's input was refused.
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        // A reader that stops early (`mikawaya book | head`) ends the command quietly, as
        // with any Unix tool, instead of a panic on the closed pipe. The server keeps Rust's
        // default (SIGPIPE ignored), so a client's closed socket is an error it handles.
        sigpipe::reset();
    }
    commands::init_logging();
    commands::set_database_url(cli.database_url.clone());
    let result = match cli.command {
        Command::Serve(args) => commands::serve(&cli.data_dir, args),
        Command::Demo(args) => commands::demo(&cli.data_dir, args),
        Command::Import(args) => commands::import(&cli.data_dir, args),
        Command::User(command) => commands::user(&cli.data_dir, command),
        Command::Token(command) => commands::token(&cli.data_dir, command),
        Command::Writekey(command) => commands::writekey(&cli.data_dir, command),
        Command::Events(command) => commands::events(&cli.data_dir, command),
        Command::Churn(args) => commands::churn(&cli.data_dir, &args),
        Command::Backtest(args) => commands::backtest_metric(&cli.data_dir, &args),
        Command::Health(args) => commands::health(&cli.data_dir, &args),
        Command::Today(args) => today::run(&cli.data_dir, &args),
        Command::Fields(command) => fields::run(&cli.data_dir, command),
        Command::Scorecard(command) => scorecard::run(&cli.data_dir, command),
        Command::Plans(command) => plans::run(&cli.data_dir, command),
        Command::Journey(command) => journey::run(&cli.data_dir, command),
        Command::Voice(args) => voice::run(&cli.data_dir, args),
        Command::Surveys(command) => feedback::surveys_run(&cli.data_dir, command),
        Command::Feedback(command) => feedback::feedback_run(&cli.data_dir, command),
        Command::Metrics(command) => commands::metrics(&cli.data_dir, command),
        Command::Forecast(command) => forecast::run(&cli.data_dir, command),
        Command::Rules(command) => work::rules(&cli.data_dir, command),
        Command::Outbox(command) => work::outbox(&cli.data_dir, command),
        Command::Playbooks(command) => work::playbooks(&cli.data_dir, command),
        Command::Tasks(command) => work::tasks(&cli.data_dir, command),
        Command::Tiers(command) => work::tiers(&cli.data_dir, command),
        Command::Book { as_of, json } => work::book(&cli.data_dir, as_of.as_deref(), json),
        Command::Settings { command } => settings::run(&cli.data_dir, command),
        Command::Backup { dir } => commands::backup(&cli.data_dir, &dir),
        Command::Restore { backup } => commands::restore(&cli.data_dir, &backup),
        Command::Migrate { to } => commands::migrate(&cli.data_dir, &to),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!(
                "{}: {}",
                lang::say("error", "エラー"),
                lang::reason(&format!("{:#}", failure.error))
            );
            ExitCode::from(failure.code)
        }
    }
}
