//! CLI commands of the playbook side: `playbooks`, `rules evaluate`, `outbox`, `tasks`,
//! `tiers assign` and `book`, plus the settings the server shares with them.

use crate::Failure;
use crate::commands::{open_store, store_failure};
use anyhow::{Context, anyhow};
use mikawaya_app::pipeline::Workflow;
use mikawaya_domain::Actor;
use mikawaya_domain::work::{MessageStatus, TaskStatus};
use mikawaya_ingest::Ingest;
use mikawaya_outbox::{OutboxConfig, QuietHours};
use mikawaya_playbooks::tiers::TierRules;
use mikawaya_playbooks::{Clock, Settings};
use mikawaya_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Playbook and outbox settings: flags, environment variables, or the settings file
/// (`--config`, default `DATA_DIR/mikawaya.toml` when it exists), in that order.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkflowArgs {
    /// Settings file (TOML, keys as the long flags with `_`: smtp_url, smtp_from, base_url,
    /// secret, quiet_hours, emails_per_week, message_locale, outbox_lease_seconds,
    /// outbox_interval_seconds, digest_webhook, database_url). Default:
    /// DATA_DIR/mikawaya.toml when it exists.
    #[arg(long, env = "MIKAWAYA_CONFIG")]
    config: Option<PathBuf>,
    /// SMTP server for playbook email: smtp://host:port (add ?tls=required for STARTTLS),
    /// smtps://host:port, with optional user:password@.
    #[arg(long, env = "MIKAWAYA_SMTP_URL")]
    smtp_url: Option<String>,
    /// From address of playbook email [default: Mikawaya <cs@mikawaya.example>].
    #[arg(long, env = "MIKAWAYA_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Public address of this server, for unsubscribe links [default: http://127.0.0.1:8080].
    #[arg(long, env = "MIKAWAYA_BASE_URL")]
    base_url: Option<String>,
    /// Secret for webhook signatures and unsubscribe links (default: one kept in the data dir).
    #[arg(long, env = "MIKAWAYA_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// No email in these hours, e.g. 22-8 (in --time-zone).
    #[arg(long, env = "MIKAWAYA_QUIET_HOURS")]
    quiet_hours: Option<String>,
    /// At most this many playbook emails per contact per 7 days [default: 3].
    #[arg(long, env = "MIKAWAYA_EMAILS_PER_WEEK")]
    emails_per_week: Option<u64>,
    /// Language of messages when the account has no `language` field: en or ja [default: en].
    #[arg(long, env = "MIKAWAYA_LOCALE")]
    message_locale: Option<String>,
    /// Seconds a sender reserves a message before another may retry it [default: 300].
    #[arg(long, env = "MIKAWAYA_OUTBOX_LEASE_SECONDS")]
    outbox_lease_seconds: Option<i64>,
    /// Seconds between outbox sends in the server (0: the server does not send) [default: 5].
    #[arg(long, env = "MIKAWAYA_OUTBOX_INTERVAL_SECONDS")]
    outbox_interval_seconds: Option<u64>,
    /// A Slack-compatible incoming webhook the CSMs' daily digests are also posted to.
    #[arg(long, env = "MIKAWAYA_DIGEST_WEBHOOK")]
    digest_webhook: Option<String>,
}

/// The settings file's keys (every one optional).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    base_url: Option<String>,
    secret: Option<String>,
    quiet_hours: Option<String>,
    emails_per_week: Option<u64>,
    message_locale: Option<String>,
    outbox_lease_seconds: Option<i64>,
    outbox_interval_seconds: Option<u64>,
    digest_webhook: Option<String>,
    /// The store's PostgreSQL database (see `commands::open_store`).
    database_url: Option<String>,
}

/// `database_url` of `DATA_DIR/mikawaya.toml`, when the file exists and names one.
pub(crate) fn settings_database_url(data_dir: &Path) -> Result<Option<String>, Failure> {
    let path = data_dir.join("mikawaya.toml");
    if !path.exists() {
        return Ok(None);
    }
    let file = read_settings(&path)?;
    Ok(file.database_url.filter(|url| !url.trim().is_empty()))
}

fn read_settings(path: &Path) -> Result<SettingsFile, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the settings file {}", path.display()))
        .map_err(Failure::input)?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        Failure::input(anyhow!(
            "{}{}: {}",
            path.display(),
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            e.message()
        ))
    })
}

/// Resolved settings.
pub struct Resolved {
    /// Engine and outbox settings.
    pub workflow: Workflow,
    /// Seconds between outbox sends in the server (0: none).
    pub interval_seconds: u64,
}

impl WorkflowArgs {
    fn file(&self, data_dir: &Path) -> Result<SettingsFile, Failure> {
        let default = data_dir.join("mikawaya.toml");
        let path = match &self.config {
            Some(path) => path.clone(),
            None if default.exists() => default,
            None => return Ok(SettingsFile::default()),
        };
        read_settings(&path)
    }

    /// The settings, with the secret read from the store when not configured.
    pub fn resolve(
        &self,
        data_dir: &Path,
        store: &dyn Store,
        time_zone: Option<&str>,
    ) -> Result<Resolved, Failure> {
        let file = self.file(data_dir)?;
        let locale = self
            .message_locale
            .clone()
            .or(file.message_locale)
            .unwrap_or_else(|| "en".to_owned());
        if locale != "en" && locale != "ja" {
            return Err(Failure::input(anyhow!("message_locale: must be en or ja")));
        }
        let lease = self
            .outbox_lease_seconds
            .or(file.outbox_lease_seconds)
            .unwrap_or(300);
        if lease < 1 {
            return Err(Failure::input(anyhow!(
                "outbox_lease_seconds: must be at least 1"
            )));
        }
        // The data dir's own secret exists either way: survey links are signed with it.
        let stored = mikawaya_outbox::stored_secret(store).map_err(|e| anyhow!("{e}"))?;
        let secret = match self.secret.clone().or(file.secret) {
            Some(secret) if secret.len() >= 16 => secret,
            Some(_) => {
                return Err(Failure::input(anyhow!(
                    "secret (MIKAWAYA_SECRET): use at least 16 characters"
                )));
            }
            None => stored,
        };
        let mut outbox = OutboxConfig::new(self.smtp_url.clone().or(file.smtp_url), secret);
        if let Some(from) = self.smtp_from.clone().or(file.smtp_from) {
            outbox.from = from;
        }
        if let Some(base) = self.base_url.clone().or(file.base_url) {
            outbox.base_url = base;
        }
        outbox.lease = jiff::SignedDuration::from_secs(lease);
        outbox.quiet_hours = self
            .quiet_hours
            .clone()
            .or(file.quiet_hours)
            .as_deref()
            .map(QuietHours::parse)
            .transpose()
            .map_err(Failure::input)?;
        outbox.time_zone = crate::commands::business_time_zone(store, time_zone)?;
        Ok(Resolved {
            workflow: Workflow {
                settings: Settings {
                    locale,
                    emails_per_week: self.emails_per_week.or(file.emails_per_week).unwrap_or(3),
                    replay: false,
                    base_url: outbox.base_url.clone(),
                },
                outbox,
                digest_webhook: match self.digest_webhook.clone().or(file.digest_webhook) {
                    Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                        return Err(Failure::input(anyhow!(
                            "digest_webhook (MIKAWAYA_DIGEST_WEBHOOK): must be an http(s) URL"
                        )));
                    }
                    other => other,
                },
            },
            interval_seconds: self
                .outbox_interval_seconds
                .or(file.outbox_interval_seconds)
                .unwrap_or(5),
        })
    }
}

/// The engine's clock: the day given by `flag`, else now in the data dir's business time
/// zone (see `mikawaya_app::clock`).
fn parse_day(
    raw: Option<&str>,
    flag: &str,
    store: &dyn Store,
    ingest: &crate::commands::IngestArgs,
) -> Result<Clock, Failure> {
    Ok(match raw {
        Some(raw) => {
            Clock::on(mikawaya_domain::value::parse_date(raw, flag).map_err(Failure::input)?)
        }
        None => {
            let clock = ingest.clock(store)?;
            Clock {
                today: clock.today(),
                now: clock.now(),
            }
        }
    })
}

fn playbook_failure(error: mikawaya_playbooks::PlaybookError) -> Failure {
    match error {
        mikawaya_playbooks::PlaybookError::Invalid(invalid) => Failure::input(invalid),
        mikawaya_playbooks::PlaybookError::Store(store) => store_failure(store),
        other => Failure::from(other),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string(value).context("writing JSON")?);
    Ok(())
}

/// `mikawaya rules ...`
#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Evaluates every enabled playbook's rule for every account: what fired, for whom, why.
    Evaluate {
        /// The evaluation day, YYYY-MM-DD (default today).
        #[arg(long)]
        as_of: Option<String>,
        /// Replay history: evaluate every `--every-days` from this day to `--as-of` on a
        /// virtual clock. Firings, runs and tasks are recorded; messages are recorded as
        /// suppressed (`history replay`) and never sent.
        #[arg(long, requires = "as_of")]
        from: Option<String>,
        /// Step of a replay, in days.
        #[arg(long, default_value_t = 1)]
        every_days: u32,
        /// Report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: crate::commands::IngestArgs,
        #[command(flatten)]
        workflow: WorkflowArgs,
    },
}

pub fn rules(data_dir: &Path, command: RulesCommand) -> Result<(), Failure> {
    let RulesCommand::Evaluate {
        as_of,
        from,
        every_days,
        dry_run,
        json,
        ingest,
        workflow,
    } = command;
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let clock = parse_day(as_of.as_deref(), "--as-of", store.as_ref(), &ingest)?;
    let mut settings = workflow
        .resolve(data_dir, store.as_ref(), ingest.time_zone())?
        .workflow
        .settings;
    if let Some(from) = from {
        settings.replay = true;
        return replay(
            data_dir,
            store,
            &ingest,
            &settings,
            (&from, clock.today),
            every_days,
            dry_run,
            json,
        );
    }
    let service: Arc<Ingest> = crate::commands::open_ingest(data_dir, Arc::clone(&store), &ingest)?;
    let access = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let report = mikawaya_playbooks::evaluate_live(
        store.as_ref(),
        &access,
        &service,
        clock,
        &settings,
        dry_run,
        None,
    );
    service.shutdown();
    let report = report.map_err(playbook_failure)?;
    if json {
        return print_json(&report);
    }
    let verb = if dry_run { "would fire" } else { "fired" };
    for firing in &report.fired {
        println!(
            "{}\tv{}\t{}\t{}{}",
            firing.playbook,
            firing.version,
            firing
                .account_external_id
                .as_deref()
                .unwrap_or(firing.account_name.as_str()),
            firing.reason,
            if firing.holdout { "\t(held out)" } else { "" }
        );
    }
    println!(
        "{} {} playbook(s) on {}; {} run(s) advanced; {} task(s), {} message(s)",
        report.fired.len(),
        verb,
        report.as_of,
        report.advanced,
        report.tasks.len(),
        report.messages.len()
    );
    Ok(())
}

/// Replays the rules over past days on a virtual clock (messages suppressed).
#[allow(clippy::too_many_arguments)]
fn replay(
    data_dir: &Path,
    store: Arc<dyn Store>,
    ingest: &crate::commands::IngestArgs,
    settings: &Settings,
    (from, to): (&str, jiff::civil::Date),
    every_days: u32,
    dry_run: bool,
    json: bool,
) -> Result<(), Failure> {
    let first = parse_day(Some(from), "--from", store.as_ref(), ingest)?.today;
    let service: Arc<Ingest> = crate::commands::open_ingest(data_dir, Arc::clone(&store), ingest)?;
    let replayed = mikawaya_app::replay::replay(
        store.as_ref(),
        &service,
        settings,
        (first, to),
        every_days,
        dry_run,
    );
    service.shutdown();
    let replayed = replayed.map_err(|e| match e {
        mikawaya_app::AppError::Invalid(invalid) => Failure::input(anyhow!(
            "--{}: {}",
            invalid.field.replace('_', "-"),
            invalid.reason
        )),
        other => Failure::from(anyhow!("{other}")),
    })?;
    if json {
        return print_json(
            &serde_json::json!({"from": from, "to": to, "every_days": every_days,
            "fired": replayed.fired, "held_out": replayed.held_out, "tasks": replayed.tasks, "dry_run": dry_run}),
        );
    }
    println!(
        "replayed {from} to {to}: {} firings ({} held out), {} tasks",
        replayed.fired, replayed.held_out, replayed.tasks
    );
    Ok(())
}

/// `mikawaya outbox ...`
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum OutboxCommand {
    /// Sends every message that is due now.
    Flush {
        /// The current instant, RFC 3339 (default now): quiet hours and retries are judged by it.
        #[arg(long)]
        now: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// The data dir's business time zone, in which quiet hours are judged (remembered
        /// once given; see `serve --help`).
        #[arg(long, env = "MIKAWAYA_TIME_ZONE")]
        time_zone: Option<String>,
        #[command(flatten)]
        workflow: WorkflowArgs,
    },
    /// Lists the outbox.
    List {
        /// pending, sending, sent, failed or suppressed.
        #[arg(long)]
        status: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

pub fn outbox(data_dir: &Path, command: OutboxCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    match command {
        OutboxCommand::Flush {
            now,
            json,
            time_zone,
            workflow,
        } => {
            let now = match now {
                Some(raw) => mikawaya_domain::value::parse_timestamp(&raw, "--now")
                    .map_err(Failure::input)?,
                None => jiff::Timestamp::now(),
            };
            let config = workflow
                .resolve(data_dir, store.as_ref(), time_zone.as_deref())?
                .workflow
                .outbox;
            mikawaya_outbox::install_crypto();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let report = runtime
                .block_on(mikawaya_outbox::flush(store, &config, now))
                .map_err(|e| anyhow!("{e}"))?;
            if json {
                return print_json(&report);
            }
            println!(
                "sent {}, retrying {}, failed {}, suppressed {}, deferred {}",
                report.sent, report.retried, report.failed, report.suppressed, report.deferred
            );
            Ok(())
        }
        OutboxCommand::List { status, json } => {
            let status = status
                .as_deref()
                .map(MessageStatus::parse)
                .transpose()
                .map_err(Failure::input)?;
            let admin = Actor::system().admin().map_err(|e| anyhow!("{e}"))?;
            let messages = store.list_messages(&admin, status).map_err(store_failure)?;
            if json {
                let rows: Vec<serde_json::Value> = messages
                    .iter()
                    .map(|m| serde_json::json!({"id": m.id, "key": m.idempotency_key, "channel": m.channel, "recipient": m.recipient,
                        "subject": m.subject, "status": m.status, "reason": m.reason, "attempts": m.attempts, "last_error": m.last_error}))
                    .collect();
                return print_json(&rows);
            }
            for m in &messages {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    m.id,
                    m.channel,
                    m.status,
                    m.recipient,
                    m.subject.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

/// `mikawaya playbooks ...`
#[derive(Debug, clap::Subcommand)]
pub enum PlaybooksCommand {
    /// Saves the starter playbooks (ja/en) and the metrics they read.
    InstallStarters,
    /// Saves a playbook spec (JSON file) as its next version.
    Save {
        /// The spec.
        file: PathBuf,
    },
    /// Lists playbooks (latest version of each).
    List,
    /// Turns a playbook's rule on.
    Enable {
        /// Playbook name.
        name: String,
    },
    /// Turns a playbook's rule off.
    Disable {
        /// Playbook name.
        name: String,
    },
    /// Runs against holdout: outcome rates, difference, 95% confidence interval.
    Effectiveness {
        /// Playbook name (default: every playbook with an outcome).
        #[arg(long)]
        name: Option<String>,
        /// The day outcomes are read on (default today).
        #[arg(long)]
        as_of: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ingest: crate::commands::IngestArgs,
    },
}

pub fn playbooks(data_dir: &Path, command: PlaybooksCommand) -> Result<(), Failure> {
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let manage = || {
        Actor::system()
            .manage()
            .map_err(|e| Failure::from(anyhow!("{e}")))
    };
    match command {
        PlaybooksCommand::InstallStarters => {
            for (name, version) in mikawaya_playbooks::starter::install(store.as_ref(), &manage()?)
                .map_err(playbook_failure)?
            {
                println!("{name}\tv{version}");
            }
            Ok(())
        }
        PlaybooksCommand::Save { file } => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let playbook = mikawaya_playbooks::spec::parse(&json).map_err(|e| {
                Failure::input(anyhow!("{}: {}: {}", file.display(), e.field, e.reason))
            })?;
            let spec = serde_json::to_string(playbook.spec()).context("writing the spec")?;
            let version = store
                .put_playbook(&manage()?, playbook.name().as_str(), &spec)
                .map_err(store_failure)?;
            println!("saved {} v{version}", playbook.name());
            Ok(())
        }
        PlaybooksCommand::List => {
            let (versions, firing) =
                mikawaya_playbooks::engine::load_playbooks(store.as_ref(), &Actor::system().read())
                    .map_err(playbook_failure)?;
            let mut names: Vec<&(String, i64)> = versions.keys().collect();
            names.sort();
            names.dedup_by(|a, b| a.0 == b.0);
            for (version, playbook) in &firing {
                println!(
                    "{}\tv{version}\tenabled\t{}",
                    playbook.name(),
                    playbook.spec().title.en
                );
            }
            for stored in store
                .playbook_versions(&Actor::system().read(), None)
                .map_err(store_failure)?
            {
                if !stored.enabled && !firing.iter().any(|(_, p)| p.name().as_str() == stored.name)
                {
                    println!("{}\tv{}\tdisabled", stored.name, stored.version);
                }
            }
            Ok(())
        }
        PlaybooksCommand::Enable { name } | PlaybooksCommand::Disable { name }
            if name.is_empty() =>
        {
            Err(Failure::input(anyhow!("a playbook name is required")))
        }
        PlaybooksCommand::Enable { name } => {
            store
                .set_playbook_enabled(&manage()?, &name, true)
                .map_err(store_failure)?;
            println!("enabled {name}");
            Ok(())
        }
        PlaybooksCommand::Disable { name } => {
            store
                .set_playbook_enabled(&manage()?, &name, false)
                .map_err(store_failure)?;
            println!("disabled {name}");
            Ok(())
        }
        PlaybooksCommand::Effectiveness {
            name,
            as_of,
            json,
            ingest,
        } => {
            let as_of = parse_day(as_of.as_deref(), "--as-of", store.as_ref(), &ingest)?.today;
            let access = Actor::system().read();
            let service = crate::commands::open_ingest(data_dir, Arc::clone(&store), &ingest)?;
            let reports = service.read(|rollups| {
                mikawaya_app::effect::reports(
                    store.as_ref(),
                    &access,
                    Some(rollups),
                    name.as_deref(),
                    as_of,
                )
            });
            service.shutdown();
            let reports = reports
                .map_err(Failure::from)?
                .map_err(crate::commands::app_input)?;
            if json {
                return print_json(&reports);
            }
            for r in &reports {
                let c = &r.runs_vs_holdout;
                let pct = |v: Option<f64>| {
                    v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", 100.0 * v))
                };
                let ci = c.ci95.map_or_else(
                    || "n/a".to_owned(),
                    |(l, h)| format!("[{:+.1}, {:+.1}] pts", 100.0 * l, 100.0 * h),
                );
                println!(
                    "{}: runs {} of {} ({}), holdout {} of {} ({}), difference {} 95% CI {}; {} not yet known",
                    r.playbook,
                    c.a.successes,
                    c.a.n,
                    pct(c.a.rate),
                    c.b.successes,
                    c.b.n,
                    pct(c.b.rate),
                    c.difference
                        .map_or_else(|| "n/a".to_owned(), |d| format!("{:+.1} pts", 100.0 * d)),
                    ci,
                    r.pending
                );
            }
            Ok(())
        }
    }
}

/// `mikawaya tasks ...`
#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// Lists tasks.
    List {
        /// Owner's email (`none`: the team queue).
        #[arg(long)]
        owner: Option<String>,
        /// open or done.
        #[arg(long)]
        status: Option<String>,
        /// Only overdue tasks.
        #[arg(long)]
        overdue: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

pub fn tasks(data_dir: &Path, command: TasksCommand) -> Result<(), Failure> {
    let TasksCommand::List {
        owner,
        status,
        overdue,
        json,
    } = command;
    let store = open_store(data_dir)?;
    let access = Actor::system().read();
    let mut filter = mikawaya_store::work::TaskFilter {
        status: status
            .as_deref()
            .map(TaskStatus::parse)
            .transpose()
            .map_err(Failure::input)?,
        overdue_on: overdue
            .then(|| crate::commands::stored_clock(store.as_ref()).map(|c| c.today()))
            .transpose()?,
        ..Default::default()
    };
    match owner.as_deref() {
        Some("none") => filter.unassigned = true,
        Some(email) => {
            let user = store
                .list_users(&access)
                .map_err(store_failure)?
                .into_iter()
                .find(|u| u.email.as_str().eq_ignore_ascii_case(email))
                .ok_or_else(|| Failure::input(anyhow!("--owner: no user {email}")))?;
            filter.owner_id = Some(user.id);
        }
        None => {}
    }
    let page = mikawaya_store::PageRequest::first(1000);
    let tasks = store
        .list_tasks(&access, &filter, &page)
        .map_err(store_failure)?
        .data;
    if json {
        let rows: Vec<serde_json::Value> = tasks
            .iter()
            .map(|t| serde_json::json!({"id": t.id, "account_id": t.account_id, "owner_id": t.owner_id, "title": t.title.as_str(),
                "priority": t.priority, "due_on": t.due_on, "status": t.status, "run_id": t.run_id}))
            .collect();
        return print_json(&rows);
    }
    for t in &tasks {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            t.id, t.due_on, t.priority, t.status, t.title
        );
    }
    Ok(())
}

/// `mikawaya tiers assign`
#[derive(Debug, clap::Subcommand)]
pub enum TiersCommand {
    /// Sets touch tiers by ARR and owner CSMs round-robin within capacity.
    Assign {
        /// Rules as JSON (default: ≥1,000,000 ARR high, ≥200,000 low, else tech; 20 high and 80 low per CSM).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Report only.
        #[arg(long)]
        dry_run: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

pub fn tiers(data_dir: &Path, command: TiersCommand) -> Result<(), Failure> {
    let TiersCommand::Assign {
        rules,
        dry_run,
        json,
    } = command;
    let rules = match rules {
        Some(file) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            serde_json::from_str::<TierRules>(&text).map_err(|e| {
                Failure::input(anyhow!("{}: line {}: {e}", file.display(), e.line()))
            })?
        }
        None => TierRules::standard(),
    };
    rules.check().map_err(Failure::input)?;
    let store = open_store(data_dir)?;
    let access = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let today = crate::commands::stored_clock(store.as_ref())?.today();
    let plan = mikawaya_playbooks::tiers::apply(store.as_ref(), &access, &rules, dry_run, today)
        .map_err(playbook_failure)?;
    if json {
        return print_json(&plan);
    }
    println!(
        "{} account(s) {}; {} over capacity",
        plan.assignments.len(),
        if dry_run { "would change" } else { "changed" },
        plan.over_capacity.len()
    );
    Ok(())
}

/// `mikawaya book`: each owner's accounts, ARR, open and overdue tasks.
pub fn book(data_dir: &Path, as_of: Option<&str>, json: bool) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let access = Actor::system().read();
    let today = match as_of {
        Some(day) => mikawaya_domain::value::parse_date(day, "--as-of").map_err(Failure::input)?,
        None => crate::commands::stored_clock(store.as_ref())?.today(),
    };
    let rows = mikawaya_app::team::book(store.as_ref(), &access, today)
        .map_err(crate::commands::app_input)?;
    if json {
        return print_json(&rows);
    }
    for row in &rows {
        println!(
            "{}\t{} accounts\tARR {:.0}\t{} open\t{} overdue",
            row.owner_email.as_deref().unwrap_or("(no owner)"),
            row.accounts.values().sum::<usize>(),
            row.arr,
            row.open_tasks,
            row.overdue_tasks
        );
    }
    Ok(())
}
