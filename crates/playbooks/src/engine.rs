//! One evaluation: which rules fire for which accounts, and what the steps of new and
//! waiting runs produce, as of a [`Clock`]. Decisions are collected into one
//! [`WorkflowBatch`] and written in one transaction (or, in a dry run, only reported).

use crate::facts::Facts;
use crate::spec::{Assignee, Playbook, Step};
pub use crate::trigger::FireReason;
use crate::trigger::{conditions_hold, fires};
use crate::{PlaybookError, Result};
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::account::Account;
use mikawaya_domain::contact::ContactRole;
use mikawaya_domain::custom_field::CustomValue;
use mikawaya_domain::value::{Slug, Text};
use mikawaya_domain::work::{Channel, MessageStatus, NewTask, RunStatus, Task, TaskStatus};
use mikawaya_domain::{AccountId, ReadAccess, WriteAccess};
use mikawaya_store::Store;
use mikawaya_store::work::{Effects, FieldUpdate, NewMessage, NewRun, RunProgress, WorkflowBatch};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The engine's clock: the day rules are evaluated for, and the instant messages are
/// queued at. Tests and demos pass a virtual one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// The evaluation day.
    pub today: Date,
    /// The current instant.
    pub now: jiff::Timestamp,
}

impl Clock {
    /// A virtual clock: `today` at 09:00 UTC.
    pub fn on(today: Date) -> Clock {
        let now = today
            .at(9, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp());
        Clock { today, now }
    }
}

/// Settings of the tech-touch side.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Language of messages when the account does not say (`language` custom field).
    pub locale: String,
    /// At most this many playbook emails per contact per 7 days; more are suppressed.
    pub emails_per_week: u64,
    /// Replaying history on a virtual clock: messages are recorded as suppressed
    /// (`history replay`), never sent.
    pub replay: bool,
    /// The server's public address, for survey links.
    pub base_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            locale: "en".to_owned(),
            emails_per_week: 3,
            replay: false,
            base_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// Why messages of a history replay are not sent.
pub const REPLAY: &str = "history replay";

/// One firing, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    /// Playbook.
    pub playbook: String,
    /// Version.
    pub version: i64,
    /// Account id.
    pub account_id: AccountId,
    /// Account external id.
    pub account_external_id: Option<String>,
    /// Account name.
    pub account_name: String,
    /// Why it fired.
    pub reason: String,
    /// Drawn into the control group (nothing done).
    pub holdout: bool,
}

/// A task, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedTask {
    /// Account.
    pub account_id: AccountId,
    /// Owner's email, none for the team queue.
    pub owner: Option<String>,
    /// Title.
    pub title: String,
    /// Due day.
    pub due_on: Date,
}

/// A message, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedMessage {
    /// Email or webhook.
    pub channel: Channel,
    /// Address or URL.
    pub recipient: String,
    /// Subject (email).
    pub subject: Option<String>,
    /// Pending or suppressed.
    pub status: MessageStatus,
    /// Why suppressed.
    pub reason: Option<String>,
}

/// What an evaluation decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The evaluation day.
    pub as_of: Date,
    /// Nothing was written.
    pub dry_run: bool,
    /// New firings.
    pub fired: Vec<Firing>,
    /// Existing runs that moved on.
    pub advanced: usize,
    /// Runs that finished.
    pub completed: usize,
    /// Tasks created.
    pub tasks: Vec<PlannedTask>,
    /// Messages queued (or suppressed).
    pub messages: Vec<PlannedMessage>,
    /// Account fields set.
    pub field_updates: usize,
    /// Success plans started.
    pub plans_started: usize,
}

/// Every stored version by (name, version), and the (version, playbook) that fire.
pub type Loaded = (HashMap<(String, i64), Playbook>, Vec<(i64, Playbook)>);

/// Loads every stored version; the latest enabled version of each playbook fires.
pub fn load_playbooks(store: &dyn Store, access: &ReadAccess) -> Result<Loaded> {
    let mut all = HashMap::new();
    let mut latest: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    for stored in store.playbook_versions(access, None)? {
        let playbook = crate::spec::parse(&stored.spec).map_err(|e| PlaybookError::Stored {
            name: stored.name.clone(),
            version: stored.version,
            reason: e.to_string(),
        })?;
        latest.insert(stored.name.clone(), (stored.version, stored.enabled));
        all.insert((stored.name, stored.version), playbook);
    }
    let firing = latest
        .into_iter()
        .filter(|(_, (_, enabled))| *enabled)
        .filter_map(|(name, (version, _))| all.get(&(name, version)).map(|p| (version, p.clone())))
        .collect();
    Ok((all, firing))
}

/// Evaluates every enabled playbook for every account (or one account) and advances the
/// runs that are due. Writes the decisions unless `dry_run`.
pub fn evaluate(
    store: &dyn Store,
    access: &WriteAccess,
    usage: Option<&dyn UsageSource>,
    clock: Clock,
    settings: &Settings,
    dry_run: bool,
    only: Option<AccountId>,
) -> Result<Report> {
    let (versions, firing) = load_playbooks(store, &access.read())?;
    let facts = Facts::load(store, &access.read(), usage, clock.today)?;
    let mut exec = Exec::new(store, *access, &facts, clock, settings, dry_run);
    let mut batch = WorkflowBatch::default();
    let accounts: Vec<&Account> = facts
        .accounts
        .iter()
        .filter(|a| only.is_none_or(|id| a.id == id))
        .collect();

    // Runs already under way.
    let by_id: HashMap<AccountId, &Account> = accounts.iter().map(|a| (a.id, *a)).collect();
    for ((name, account_id), runs) in &facts.runs {
        let Some(account) = by_id.get(account_id) else {
            continue;
        };
        for run in runs.iter().filter(|r| r.status == RunStatus::Active) {
            if run.resume_on.is_some_and(|day| day > clock.today) {
                continue;
            }
            let Some(playbook) = versions.get(&(name.clone(), run.version)) else {
                continue;
            };
            let tasks = facts.tasks.get(&run.id).map_or(&[][..], Vec::as_slice);
            let stored_reason = FireReason {
                en: run.reason.clone(),
                ja: run.reason_ja.clone().unwrap_or_else(|| run.reason.clone()),
            };
            let key = RunKey {
                playbook,
                version: run.version,
                account,
                fired_on: run.fired_on,
                reason: &stored_reason,
            };
            let step = exec.advance(&key, usize::try_from(run.cursor).unwrap_or(0), tasks)?;
            if step.cursor != usize::try_from(run.cursor).unwrap_or(0) || step.status != run.status
            {
                exec.report.advanced += 1;
                if step.status == RunStatus::Completed {
                    exec.report.completed += 1;
                }
                batch.progress.push(RunProgress {
                    run_id: run.id,
                    status: step.status,
                    cursor: i64::try_from(step.cursor).unwrap_or(i64::MAX),
                    resume_on: step.resume_on,
                    effects: step.effects,
                    close_open_tasks: None,
                });
            }
        }
    }

    // New firings; the later stages of a series first, so earlier ones can yield to them.
    let mut firing: Vec<&(i64, Playbook)> = firing.iter().collect();
    firing.sort_by_key(|(_, playbook)| {
        playbook
            .spec()
            .stage
            .as_ref()
            .map(|s| (s.series.clone(), std::cmp::Reverse(s.order)))
    });
    let staged: Vec<(&str, &crate::spec::Stage)> = versions_latest_stages(&versions);
    let mut fired_stages: HashMap<(String, AccountId), u32> = HashMap::new();
    for (version, playbook) in firing {
        let spec = playbook.spec();
        let name = playbook.name().as_str();
        let cooldown_start = clock
            .today
            .checked_sub(jiff::Span::new().days(i64::from(spec.cooldown_days)))
            .map_err(|e| mikawaya_domain::Invalid::new("as_of", e.to_string()))?;
        for account in &accounts {
            let recent = facts
                .runs
                .get(&(name.to_owned(), account.id))
                .is_some_and(|runs| runs.iter().any(|r| r.fired_on > cooldown_start));
            if recent || !conditions_hold(&spec.conditions, account, &facts) {
                continue;
            }
            // A stage yields to a later stage of its series firing today or recently.
            if let Some(stage) = &spec.stage {
                let later_today = fired_stages
                    .get(&(stage.series.clone(), account.id))
                    .is_some_and(|order| *order > stage.order);
                let later_recent = staged
                    .iter()
                    .filter(|(_, s)| s.series == stage.series && s.order > stage.order)
                    .any(|(later, _)| {
                        facts
                            .runs
                            .get(&((*later).to_owned(), account.id))
                            .is_some_and(|runs| runs.iter().any(|r| r.fired_on > cooldown_start))
                    });
                if later_today || later_recent {
                    continue;
                }
            }
            let paying = !facts.revenue.contains_key(&account.id)
                || facts.active_on(account.id, clock.today);
            if !paying {
                continue;
            }
            let Some(reason) = fires(&spec.trigger, account, &facts, clock.today) else {
                continue;
            };
            let holdout = held_out(name, account.id, clock.today, spec.holdout_percent);
            exec.report.fired.push(Firing {
                playbook: name.to_owned(),
                version: *version,
                account_id: account.id,
                account_external_id: account.external_id.as_ref().map(ToString::to_string),
                account_name: account.name.to_string(),
                reason: reason.en.clone(),
                holdout,
            });
            let step = if holdout {
                Advanced {
                    status: RunStatus::HeldOut,
                    cursor: 0,
                    resume_on: None,
                    effects: Effects::default(),
                }
            } else {
                let key = RunKey {
                    playbook,
                    version: *version,
                    account,
                    fired_on: clock.today,
                    reason: &reason,
                };
                exec.advance(&key, 0, &[])?
            };
            if step.status == RunStatus::Completed {
                exec.report.completed += 1;
            }
            if let Some(stage) = &spec.stage {
                fired_stages.insert((stage.series.clone(), account.id), stage.order);
                if !holdout {
                    supersede_earlier(&facts, &staged, stage, name, account.id, &mut batch);
                }
            }
            batch.new_runs.push(NewRun {
                playbook: name.to_owned(),
                version: *version,
                account_id: account.id,
                fired_on: clock.today,
                reason_ja: Some(reason.ja),
                reason: reason.en,
                status: step.status,
                cursor: i64::try_from(step.cursor).unwrap_or(i64::MAX),
                resume_on: step.resume_on,
                effects: step.effects,
            });
        }
    }
    let report = exec.report;
    if !dry_run && (!batch.new_runs.is_empty() || !batch.progress.is_empty()) {
        store.apply_workflow(access, batch)?;
    }
    Ok(report)
}

/// A playbook started by hand: which, on which account, and why (shown as the run's reason).
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// The playbook's name.
    pub playbook: &'a str,
    /// The account.
    pub account: AccountId,
    /// Why, e.g. "started by Aoi" / "Aoiさんが開始".
    pub reason: &'a FireReason,
}

/// Starts an enabled playbook on one account by hand (a person chose it: no trigger, no
/// conditions, no holdout), unless it already has an active run there. Its steps run as a
/// firing's would; a staged playbook supersedes its series' earlier stages.
pub fn start(
    store: &dyn Store,
    access: &WriteAccess,
    usage: Option<&dyn UsageSource>,
    clock: Clock,
    settings: &Settings,
    what: Start<'_>,
) -> Result<Report> {
    let Start {
        playbook,
        account: account_id,
        reason,
    } = what;
    let (versions, firing) = load_playbooks(store, &access.read())?;
    let Some((version, chosen)) = firing.iter().find(|(_, p)| p.name().as_str() == playbook) else {
        return Err(mikawaya_domain::Invalid::new(
            "playbook",
            format!("'{playbook}' is not an enabled playbook"),
        )
        .into());
    };
    let account = store.get_account(&access.read(), account_id)?;
    let facts = Facts::load(store, &access.read(), usage, clock.today)?;
    if facts
        .runs
        .get(&(playbook.to_owned(), account_id))
        .is_some_and(|runs| runs.iter().any(|r| r.status == RunStatus::Active))
    {
        return Err(mikawaya_domain::Invalid::new(
            "playbook",
            format!("'{playbook}' is already running on this account"),
        )
        .into());
    }
    let mut exec = Exec::new(store, *access, &facts, clock, settings, false);
    let key = RunKey {
        playbook: chosen,
        version: *version,
        account: &account,
        fired_on: clock.today,
        reason,
    };
    let step = exec.advance(&key, 0, &[])?;
    let mut batch = WorkflowBatch::default();
    if let Some(stage) = &chosen.spec().stage {
        let staged = versions_latest_stages(&versions);
        supersede_earlier(&facts, &staged, stage, playbook, account_id, &mut batch);
    }
    exec.report.fired.push(Firing {
        playbook: playbook.to_owned(),
        version: *version,
        account_id,
        account_external_id: account.external_id.as_ref().map(ToString::to_string),
        account_name: account.name.to_string(),
        reason: reason.en.clone(),
        holdout: false,
    });
    if step.status == RunStatus::Completed {
        exec.report.completed += 1;
    }
    batch.new_runs.push(NewRun {
        playbook: playbook.to_owned(),
        version: *version,
        account_id,
        fired_on: clock.today,
        reason: reason.en.clone(),
        reason_ja: Some(reason.ja.clone()),
        status: step.status,
        cursor: i64::try_from(step.cursor).unwrap_or(i64::MAX),
        resume_on: step.resume_on,
        effects: step.effects,
    });
    let report = exec.report;
    store.apply_workflow(access, batch)?;
    Ok(report)
}

/// Every playbook name with the stage its latest version declares.
fn versions_latest_stages(
    versions: &HashMap<(String, i64), Playbook>,
) -> Vec<(&str, &crate::spec::Stage)> {
    let mut latest: BTreeMap<&str, (i64, &Playbook)> = BTreeMap::new();
    for ((name, version), playbook) in versions {
        let entry = latest.entry(name.as_str()).or_insert((*version, playbook));
        if *version > entry.0 {
            *entry = (*version, playbook);
        }
    }
    latest
        .into_iter()
        .filter_map(|(name, (_, playbook))| playbook.spec().stage.as_ref().map(|s| (name, s)))
        .collect()
}

/// Cancels the active runs of earlier stages of `stage`'s series on an account and closes
/// their open tasks (of completed runs too) as superseded by `by`.
fn supersede_earlier(
    facts: &Facts<'_>,
    staged: &[(&str, &crate::spec::Stage)],
    stage: &crate::spec::Stage,
    by: &str,
    account: AccountId,
    batch: &mut WorkflowBatch,
) {
    let outcome = Text::parse(&format!("Superseded by {by}")).ok();
    for (earlier, _) in staged
        .iter()
        .filter(|(_, s)| s.series == stage.series && s.order < stage.order)
    {
        let Some(runs) = facts.runs.get(&((*earlier).to_owned(), account)) else {
            continue;
        };
        for run in runs {
            let open_tasks = facts
                .tasks
                .get(&run.id)
                .is_some_and(|tasks| tasks.iter().any(|t| t.status == TaskStatus::Open));
            if run.status != RunStatus::Active && !open_tasks {
                continue;
            }
            // A run advanced above in this evaluation is replaced by its cancellation.
            batch.progress.retain(|p| p.run_id != run.id);
            batch.progress.push(RunProgress {
                run_id: run.id,
                status: if run.status == RunStatus::Active {
                    RunStatus::Cancelled
                } else {
                    run.status
                },
                cursor: run.cursor,
                resume_on: None,
                effects: Effects::default(),
                close_open_tasks: outcome.clone(),
            });
        }
    }
}

/// [`evaluate`] over the live usage rollups of an ingest service.
pub fn evaluate_live(
    store: &dyn Store,
    access: &WriteAccess,
    ingest: &mikawaya_ingest::Ingest,
    clock: Clock,
    settings: &Settings,
    dry_run: bool,
    only: Option<AccountId>,
) -> Result<Report> {
    ingest
        .read(|rollups| evaluate(store, access, Some(rollups), clock, settings, dry_run, only))
        .map_err(|e| PlaybookError::Usage(e.to_string()))?
}

/// Whether a firing falls in the control group: a stable hash of (playbook, account, day).
pub fn held_out(playbook: &str, account: AccountId, day: Date, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    let hash = xxhash_rust::xxh3::xxh3_64(format!("{playbook}/{account}/{day}").as_bytes());
    hash % 100 < u64::from(percent)
}

struct RunKey<'a> {
    playbook: &'a Playbook,
    version: i64,
    account: &'a Account,
    fired_on: Date,
    reason: &'a FireReason,
}

struct Advanced {
    status: RunStatus,
    cursor: usize,
    resume_on: Option<Date>,
    effects: Effects,
}

struct Exec<'a, 'f> {
    store: &'a dyn Store,
    access: WriteAccess,
    facts: &'a Facts<'f>,
    clock: Clock,
    settings: &'a Settings,
    /// Emails queued in this evaluation per address.
    emails: HashMap<String, u64>,
    /// Contacts sent a survey in this evaluation.
    surveyed: std::collections::HashSet<mikawaya_domain::ContactId>,
    report: Report,
}

impl<'a, 'f> Exec<'a, 'f> {
    /// An execution with an empty report.
    fn new(
        store: &'a dyn Store,
        access: WriteAccess,
        facts: &'a Facts<'f>,
        clock: Clock,
        settings: &'a Settings,
        dry_run: bool,
    ) -> Self {
        Exec {
            store,
            access,
            facts,
            clock,
            settings,
            emails: HashMap::new(),
            surveyed: std::collections::HashSet::new(),
            report: Report {
                as_of: clock.today,
                dry_run,
                fired: Vec::new(),
                advanced: 0,
                completed: 0,
                tasks: Vec::new(),
                messages: Vec::new(),
                field_updates: 0,
                plans_started: 0,
            },
        }
    }

    /// Runs steps from `cursor` until a wait, a closed phase gate, or the end.
    fn advance(
        &mut self,
        key: &RunKey<'_>,
        mut cursor: usize,
        existing: &[Task],
    ) -> Result<Advanced> {
        let steps = &key.playbook.spec().steps;
        let mut effects = Effects::default();
        let gate_open = |phase: &str, effects: &Effects| {
            let open_before = existing.iter().any(|t| {
                t.deliverable.is_some()
                    && t.status == TaskStatus::Open
                    && t.phase.as_deref() == Some(phase)
            });
            let open_now = effects
                .tasks
                .iter()
                .any(|t| t.deliverable.is_some() && t.phase.as_deref() == Some(phase));
            !open_before && !open_now
        };
        loop {
            let Some(step) = steps.get(cursor) else {
                let last = steps.last().map_or(crate::spec::MAIN_PHASE, Step::phase);
                let status = if gate_open(last, &effects) {
                    RunStatus::Completed
                } else {
                    RunStatus::Active
                };
                return Ok(Advanced {
                    status,
                    cursor,
                    resume_on: None,
                    effects,
                });
            };
            if let Some(previous) = cursor.checked_sub(1).and_then(|i| steps.get(i))
                && previous.phase() != step.phase()
                && !gate_open(previous.phase(), &effects)
            {
                return Ok(Advanced {
                    status: RunStatus::Active,
                    cursor,
                    resume_on: None,
                    effects,
                });
            }
            cursor += 1;
            if let Step::Wait { days, .. } = step {
                let resume_on = self
                    .clock
                    .today
                    .checked_add(jiff::Span::new().days(i64::from(*days)))
                    .ok();
                return Ok(Advanced {
                    status: RunStatus::Active,
                    cursor,
                    resume_on,
                    effects,
                });
            }
            self.run_step(key, step, &format!("{}", cursor - 1), &mut effects)?;
        }
    }

    fn locale(&self, account: &Account) -> String {
        account
            .custom_fields
            .get("language")
            .and_then(|v| match v {
                CustomValue::Text(l) | CustomValue::Enum(l) if l == "ja" || l == "en" => {
                    Some(l.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| self.settings.locale.clone())
    }

    fn variables(&self, key: &RunKey<'_>) -> BTreeMap<&'static str, String> {
        let account = key.account;
        let locale = self.locale(account);
        let owner = account.owner_id.and_then(|id| self.facts.users.get(&id));
        let renewal = self.facts.renewal_on(account, self.clock.today);
        let mut values = BTreeMap::from([
            ("account.name", account.name.to_string()),
            (
                "account.external_id",
                account
                    .external_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "account.plan",
                account
                    .plan
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "account.stage",
                account
                    .stage
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "account.tier",
                account.tier.map(|t| t.to_string()).unwrap_or_default(),
            ),
            (
                "account.mrr",
                format!("{} {}", account.mrr.amount(), account.currency),
            ),
            (
                "account.arr",
                format!("{} {}", account.arr(), account.currency),
            ),
            (
                "account.renewal_date",
                renewal.map(|d| d.to_string()).unwrap_or_default(),
            ),
            (
                "account.days_to_renewal",
                renewal
                    .map(|d| (d - self.clock.today).get_days().to_string())
                    .unwrap_or_default(),
            ),
            (
                "owner.name",
                owner.map_or_else(
                    || {
                        if locale == "ja" {
                            "カスタマーサクセスチーム".to_owned()
                        } else {
                            "Your Customer Success team".to_owned()
                        }
                    },
                    |u| u.name.to_string(),
                ),
            ),
            (
                "owner.email",
                owner.map(|u| u.email.to_string()).unwrap_or_default(),
            ),
            (
                "playbook.title",
                key.playbook.spec().title.pick(&locale).to_owned(),
            ),
            ("reason", key.reason.pick(&locale).to_owned()),
        ]);
        values.insert("contact.name", String::new());
        values
    }

    fn run_step(
        &mut self,
        key: &RunKey<'_>,
        step: &Step,
        path: &str,
        effects: &mut Effects,
    ) -> Result<()> {
        let account = key.account;
        let locale = self.locale(account);
        let mut values = self.variables(key);
        let message_key = |suffix: &str| {
            format!(
                "{}/v{}/{}/{}/{path}{suffix}",
                key.playbook.name(),
                key.version,
                account.id,
                key.fired_on
            )
        };
        match step {
            Step::Task {
                title,
                instructions,
                assignee,
                priority,
                due_days,
                deliverable,
                ..
            } => {
                let owner_id = match assignee {
                    Assignee::Owner => account.owner_id,
                    Assignee::Team => None,
                };
                let due_on = self
                    .clock
                    .today
                    .checked_add(jiff::Span::new().days(i64::from(*due_days)))
                    .map_err(|e| mikawaya_domain::Invalid::new("due_days", e.to_string()))?;
                let title = Text::parse(&crate::template::render(title.pick(&locale), &values))?;
                let instructions = instructions
                    .as_ref()
                    .map(|i| Text::parse(&crate::template::render(i.pick(&locale), &values)))
                    .transpose()?;
                self.report.tasks.push(PlannedTask {
                    account_id: account.id,
                    owner: owner_id
                        .and_then(|id| self.facts.users.get(&id))
                        .map(|u| u.email.to_string()),
                    title: title.to_string(),
                    due_on,
                });
                effects.tasks.push(NewTask {
                    account_id: account.id,
                    owner_id,
                    title,
                    instructions,
                    priority: *priority,
                    due_on,
                    run_id: None,
                    phase: Some(step.phase().to_owned()),
                    deliverable: deliverable.clone(),
                });
            }
            Step::Email {
                to, subject, body, ..
            } => {
                for (contact, email) in self.recipients(account, to)? {
                    values.insert("contact.name", contact.name.to_string());
                    let address = email.to_string();
                    let (status, reason) = self.email_allowed(&address)?;
                    let subject = crate::template::render(subject.pick(&locale), &values);
                    self.report.messages.push(PlannedMessage {
                        channel: Channel::Email,
                        recipient: address.clone(),
                        subject: Some(subject.clone()),
                        status,
                        reason: reason.clone(),
                    });
                    effects.messages.push(NewMessage {
                        idempotency_key: message_key(&format!("/{}", contact.id)),
                        channel: Channel::Email,
                        account_id: Some(account.id),
                        contact_id: Some(contact.id),
                        recipient: address,
                        subject: Some(subject),
                        body: crate::template::render(body.pick(&locale), &values),
                        format: None,
                        status,
                        reason,
                        not_before: self.clock.now,
                    });
                }
            }
            Step::Webhook {
                url, format, text, ..
            } => {
                let text = crate::template::render(text.pick(&locale), &values);
                let (webhook_status, webhook_reason) = if self.settings.replay {
                    (MessageStatus::Suppressed, Some(REPLAY.to_owned()))
                } else {
                    (MessageStatus::Pending, None)
                };
                let body = if format == "slack" {
                    serde_json::json!({ "text": text })
                } else {
                    serde_json::json!({
                        "type": "playbook.step",
                        "playbook": key.playbook.name().as_str(),
                        "version": key.version,
                        "fired_on": key.fired_on,
                        "reason": key.reason.en,
                        "account": {
                            "id": account.id,
                            "external_id": account.external_id.as_ref().map(ToString::to_string),
                            "name": account.name.to_string(),
                        },
                        "text": text,
                    })
                };
                self.report.messages.push(PlannedMessage {
                    channel: Channel::Webhook,
                    recipient: url.clone(),
                    subject: None,
                    status: webhook_status,
                    reason: webhook_reason.clone(),
                });
                effects.messages.push(NewMessage {
                    idempotency_key: message_key(""),
                    channel: Channel::Webhook,
                    account_id: Some(account.id),
                    contact_id: None,
                    recipient: url.clone(),
                    subject: None,
                    body: body.to_string(),
                    format: Some(format.clone()),
                    status: webhook_status,
                    reason: webhook_reason.clone(),
                    not_before: self.clock.now,
                });
            }
            Step::Survey {
                survey,
                to,
                sample_percent,
                ..
            } => {
                if self.settings.replay {
                    return Ok(());
                }
                let (Some((survey_id, def)), Some(secret)) =
                    (self.facts.survey_defs.get(survey), &self.facts.link_secret)
                else {
                    tracing::warn!(%survey, playbook = %key.playbook.name(), "no survey of that name, or no link secret yet");
                    return Ok(());
                };
                if !def.active {
                    return Ok(());
                }
                let rest = jiff::SignedDuration::from_hours(24 * i64::from(def.rest_days));
                for (contact, email) in self.recipients(account, to)? {
                    let resting = self
                        .facts
                        .last_surveyed
                        .get(&contact.id)
                        .is_some_and(|at| *at + rest > self.clock.now)
                        || self.surveyed.contains(&contact.id);
                    let drawn = crate::surveys::drawn(
                        key.playbook.name().as_str(),
                        contact.id,
                        key.fired_on,
                        *sample_percent,
                    );
                    if resting || !drawn {
                        continue;
                    }
                    let address = email.to_string();
                    let (status, reason) = self.email_allowed(&address)?;
                    if status != MessageStatus::Pending {
                        // Unsubscribed or over the weekly cap: not surveyed at all.
                        tracing::debug!(contact = %contact.id, reason = reason.as_deref().unwrap_or(""), "survey not sent");
                        continue;
                    }
                    self.surveyed.insert(contact.id);
                    let send_key = message_key(&format!("/survey/{}", contact.id));
                    let token = crate::surveys::link_token(secret, &send_key);
                    let url = format!(
                        "{}{}",
                        self.settings.base_url.trim_end_matches('/'),
                        crate::surveys::link_path(&token)
                    );
                    let (subject, body) = crate::surveys::email(
                        def,
                        &locale,
                        contact.name.as_str(),
                        account.name.as_str(),
                        &url,
                    );
                    self.report.messages.push(PlannedMessage {
                        channel: Channel::Email,
                        recipient: address.clone(),
                        subject: Some(subject.clone()),
                        status,
                        reason: None,
                    });
                    let expires_at = self.clock.now
                        + jiff::SignedDuration::from_hours(24 * i64::from(def.expires_days));
                    effects.surveys.push(mikawaya_store::voice::NewSend {
                        survey_id: *survey_id,
                        account_id: account.id,
                        contact_id: contact.id,
                        channel: mikawaya_domain::voice::SurveyChannel::Email,
                        language: mikawaya_domain::language::Language::of_tag(&locale),
                        token_hash: crate::surveys::token_hash(&token),
                        sent_at: self.clock.now,
                        expires_at,
                        message: Some(NewMessage::email(
                            send_key,
                            account.id,
                            contact.id,
                            address,
                            (subject, body),
                            self.clock.now,
                        )),
                    });
                }
            }
            Step::Wait { .. } => {}
            Step::Branch {
                when,
                then,
                otherwise,
                ..
            } => {
                let (branch, label) = if conditions_hold(when, account, self.facts) {
                    (then, "then")
                } else {
                    (otherwise, "else")
                };
                for (index, inner) in branch.iter().enumerate() {
                    self.run_step(key, inner, &format!("{path}.{label}{index}"), effects)?;
                }
            }
            Step::SetTier { tier, .. } => {
                self.report.field_updates += 1;
                effects.fields.push(FieldUpdate::Tier(*tier));
            }
            Step::MoveStage { stage, .. } => {
                self.report.field_updates += 1;
                effects.fields.push(FieldUpdate::Stage(Slug::parse(stage)?));
            }
            Step::Plan {
                template, language, ..
            } => {
                let running = self
                    .facts
                    .plans
                    .get(&account.id)
                    .is_some_and(|names| names.contains(template));
                let found = self
                    .facts
                    .plan_templates
                    .0
                    .iter()
                    .find(|t| &t.name == template);
                match found {
                    _ if running => {}
                    None => {
                        tracing::warn!(%template, playbook = %key.playbook.name(), "no plan template of that name")
                    }
                    Some(found) => {
                        let language = match language.as_deref().unwrap_or(locale.as_str()) {
                            "ja" => mikawaya_domain::language::Language::Ja,
                            _ => mikawaya_domain::language::Language::En,
                        };
                        let today = self.clock.today;
                        let (mut body, events) = found.instantiate(
                            language,
                            today,
                            today,
                            self.facts.plan_templates.1,
                        )?;
                        body.owner_id = account.owner_id;
                        self.report.plans_started += 1;
                        effects.plans.push((body, events));
                    }
                }
            }
        }
        Ok(())
    }

    /// The account's contacts with an address and the role `to` names (`all`: every one).
    fn recipients(
        &self,
        account: &Account,
        to: &str,
    ) -> Result<
        Vec<(
            &'a mikawaya_domain::contact::Contact,
            &'a mikawaya_domain::value::Email,
        )>,
    > {
        let wanted = (to != "all").then(|| ContactRole::parse(to)).transpose()?;
        Ok(self
            .facts
            .contacts
            .get(&account.id)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|c| wanted.is_none_or(|role| c.role == Some(role)))
            .filter_map(|c| c.email.as_ref().map(|e| (c, e)))
            .collect())
    }

    /// Whether an email to an address may go: not unsubscribed, under the weekly cap.
    fn email_allowed(&mut self, address: &str) -> Result<(MessageStatus, Option<String>)> {
        if self.settings.replay {
            return Ok((MessageStatus::Suppressed, Some(REPLAY.to_owned())));
        }
        let unsubscribed = {
            let cached = self.facts.unsubscribed.borrow().get(address).copied();
            match cached {
                Some(value) => value,
                None => {
                    let value = self.store.is_unsubscribed(&self.access.read(), address)?;
                    self.facts
                        .unsubscribed
                        .borrow_mut()
                        .insert(address.to_owned(), value);
                    value
                }
            }
        };
        if unsubscribed {
            return Ok((MessageStatus::Suppressed, Some("unsubscribed".to_owned())));
        }
        let week_ago = self.clock.now - jiff::SignedDuration::from_hours(24 * 7);
        let queued_now = self.emails.get(address).copied().unwrap_or(0);
        let sent = self
            .store
            .emails_to_since(&self.access.read(), address, week_ago)?
            + queued_now;
        if sent >= self.settings.emails_per_week {
            return Ok((
                MessageStatus::Suppressed,
                Some(format!(
                    "frequency cap: {} emails in 7 days",
                    self.settings.emails_per_week
                )),
            ));
        }
        *self.emails.entry(address.to_owned()).or_default() += 1;
        Ok((MessageStatus::Pending, None))
    }
}
