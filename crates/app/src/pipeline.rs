//! The daily pipeline: once a day (the business day of [`crate::clock`]), the playbook
//! rules are evaluated, the health snapshot is stored, each account's signals (health,
//! change, forecast risk) are refreshed, each playbook's uplift per segment is measured
//! (the next best action), every defined metric's series is
//! brought up to date, success plans are measured, accounts move along the customer journey,
//! and the dashboards' numbers are refreshed for everyone and for each
//! partner. The server's worker runs it at start and whenever the day changes.

use crate::Result;
use mikawaya_domain::Actor;
use mikawaya_domain::access::{Role, Scope};
use mikawaya_ingest::Ingest;
use mikawaya_playbooks::{Clock, Settings};
use mikawaya_store::Store;
use mikawaya_store::work::DailyRunRecord;

/// Playbook and outbox settings: how the engine writes messages and how the outbox sends
/// them (a running server's, or one CLI command's).
#[derive(Debug, Clone)]
pub struct Workflow {
    /// How the engine writes messages.
    pub settings: mikawaya_playbooks::Settings,
    /// How the outbox sends them (the secret is filled from the store when empty).
    pub outbox: mikawaya_outbox::OutboxConfig,
    /// A Slack-compatible webhook the CSMs' daily digests are also posted to.
    pub digest_webhook: Option<String>,
}

impl Workflow {
    /// The language of what customers are sent when their account does not say.
    pub fn language(&self) -> mikawaya_domain::language::Language {
        mikawaya_domain::language::Language::of_tag(&self.settings.locale)
    }
}

impl Default for Workflow {
    fn default() -> Self {
        Self {
            settings: mikawaya_playbooks::Settings::default(),
            outbox: mikawaya_outbox::OutboxConfig::new(None, String::new()),
            digest_webhook: None,
        }
    }
}

/// What one day's run did.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRun {
    /// Playbook rules that fired.
    pub fired: usize,
    /// Runs whose steps advanced.
    pub advanced: usize,
    /// Health scores stored (0 when today's snapshot existed).
    pub scores: usize,
    /// Metric values stored.
    pub values: usize,
    /// People sent their daily digest.
    pub digests: usize,
}

/// The lease on the daily pipeline.
const DAILY_LEASE: &str = "daily-pipeline";

/// How long a node holds the daily pipeline's lease without renewing it (it renews before
/// each step; the longest step, the metric series, takes about a minute on a large book).
const DAILY_LEASE_FOR: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// Runs the day's pipeline unless it already ran for `clock.today`; `None` when it had.
/// Several nodes on one database run it once: the one that takes the lease.
pub fn run_daily(
    store: &dyn Store,
    ingest: &Ingest,
    clock: Clock,
    workflow: &Workflow,
) -> Result<Option<DailyRun>> {
    let settings: &Settings = &workflow.settings;
    let today = clock.today.to_string();
    let system = Actor::system();
    if store.last_daily_run(&system.read())? >= Some(clock.today) {
        // A store upgraded after today's run has no signals yet; a server stopped between
        // saving new cards and scoring by them left today's snapshot and signals scored by
        // the old ones.
        if !crate::signals::current(store, clock.today)? {
            let (manage, read) = (system.manage()?, system.read());
            ingest.read(|rollups| {
                crate::health::snapshot(store, &manage, &read, rollups, &[clock.today])?;
                crate::signals::refresh(store, rollups, clock.today)
            })??;
        }
        return Ok(None);
    }
    let access = system.write()?;
    let manage = system.manage()?;
    let read = system.read();
    // One node runs the day (several may share the database): the one holding the lease,
    // renewed before each step; a node that dies mid-run leaves it to the next one to ask
    // once its lease ran out, or to itself at once when it starts again.
    let node = ingest.node_name();
    let lease = || {
        let now = jiff::Timestamp::now();
        store.take_lease(&manage, DAILY_LEASE, &node, now + DAILY_LEASE_FOR, now)
    };
    if !lease()? {
        tracing::debug!(day = %today, "another node runs today's pipeline");
        return Ok(None);
    }
    if store.last_daily_run(&read)? >= Some(clock.today) {
        // Another node finished it just before this one took the lease.
        store.release_lease(&manage, DAILY_LEASE, &node)?;
        return Ok(None);
    }
    let report =
        mikawaya_playbooks::evaluate_live(store, &access, ingest, clock, settings, false, None)?;
    let known = store.health_days(mikawaya_playbooks::health::SCORECARD)?;
    let mut scores = 0;
    if !known.contains(&clock.today) {
        // A first snapshot brings 26 weeks of history with it: the weeks up to the last
        // day with usage events when they ended in the past, and today.
        let days = if known.is_empty() {
            let span = ingest.read(|rollups| rollups.event_span())?;
            let end = span.map_or(clock.today, |(_, last)| last.min(clock.today));
            let from = end
                .checked_sub(jiff::Span::new().days(7 * 25))
                .unwrap_or(end);
            let mut days = crate::health::days_back(from, end, 7);
            if end < clock.today {
                days.push(clock.today);
            }
            days
        } else {
            vec![clock.today]
        };
        scores = ingest
            .read(|rollups| crate::health::snapshot(store, &manage, &read, rollups, &days))??;
        tracing::info!(day = %today, scores, "health snapshot stored");
    }
    lease()?;
    // Each account's health in force, its change and forecast risk, for lists and Today.
    let signals = ingest.read(|rollups| crate::signals::refresh(store, rollups, clock.today))??;
    tracing::info!(day = %today, signals, "account signals refreshed");
    // Each playbook's measured uplift per segment, for the next best action.
    let uplifts =
        ingest.read(|rollups| crate::effect::measure(store, Some(rollups), clock.today))??;
    tracing::info!(day = %today, uplifts, "playbook uplifts measured");
    lease()?;
    // Every defined metric's series, up to today.
    let facts = mikawaya_playbooks::facts::account_facts(store, &read)?;
    let keep_going = || !ingest.is_stopping();
    let values = ingest.read(|rollups| {
        crate::series::update(
            store,
            &manage,
            &read,
            rollups,
            &facts,
            clock.today,
            rollups.event_span(),
            &keep_going,
        )
    })??;
    tracing::info!(day = %today, values, "metric series updated");
    lease()?;
    // Every active success plan's measured objectives, and milestones overdue.
    let statuses =
        ingest.read(|rollups| crate::plans::measure(store, rollups, clock.today, clock.now))??;
    tracing::info!(day = %today, statuses, "success plans measured");
    // The customer journey: accounts moved by its rules, and the ones stuck in a stage.
    let journey = ingest.read(|rollups| crate::journey::advance(store, rollups, clock.today))??;
    tracing::info!(day = %today, moved = journey.moved, stuck = journey.stuck, "customer journey advanced");
    lease()?;
    // Each CSM's Today, pushed: an email (and a post to the team's webhook).
    let business = crate::clock::Clock::at(store.business_time_zone()?, clock.now);
    let digest = crate::digest::DigestSettings {
        webhook: workflow.digest_webhook.clone(),
        base_url: workflow.outbox.base_url.clone(),
    };
    let digests = ingest.read(|rollups| {
        let day_of = |at: jiff::Timestamp| business.day_of(at);
        crate::digest::queue_digests(store, rollups, clock.today, &day_of, &digest, clock.now)
    })??;
    tracing::info!(day = %today, digests, "daily digests queued");
    // The dashboards' numbers for everyone and for each partner.
    crate::reports::refresh(store, &read, clock.today)?;
    for partner in store.list_partners(&read)? {
        let scoped = Actor::new(None, Role::Partner, Some(partner.id), Scope::Read)?;
        crate::reports::refresh(store, &scoped.read(), clock.today)?;
    }
    lease()?;
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    store.record_daily_run(
        &manage,
        &DailyRunRecord {
            day: clock.today,
            fired: count(report.fired.len()),
            scores: count(scores),
            metric_values: count(values),
        },
    )?;
    store.release_lease(&manage, DAILY_LEASE, &node)?;
    Ok(Some(DailyRun {
        fired: report.fired.len(),
        advanced: report.advanced,
        scores,
        values,
        digests,
    }))
}
