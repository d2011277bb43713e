//! The background worker of a server: sends the outbox every few seconds, and evaluates
//! the playbook rules once a day (at start, then when the day changes).

use crate::state::AppState;
use mikawaya_domain::Actor;
use std::sync::Arc;
use std::time::Duration;

/// The meta key holding the last day the daily evaluation ran.
const LAST_DAY: &str = "rules.last_day";

/// Runs until the task is dropped. `interval` is the outbox period.
pub async fn run(state: AppState, interval: Duration) {
    let mut outbox = state.workflow.outbox.clone();
    loop {
        if outbox.secret.is_empty() {
            let store = Arc::clone(&state.store);
            match tokio::task::spawn_blocking(move || {
                mikawaya_outbox::stored_secret(store.as_ref())
            })
            .await
            {
                Ok(Ok(secret)) => outbox.secret = secret,
                Ok(Err(error)) => tracing::warn!(%error, "reading the outbox secret failed"),
                Err(error) => tracing::warn!(%error, "reading the outbox secret failed"),
            }
        }
        if let Err(error) = daily_rules(&state).await {
            tracing::warn!(%error, "daily rule evaluation failed");
        }
        if !outbox.secret.is_empty() {
            match mikawaya_outbox::flush(Arc::clone(&state.store), &outbox, jiff::Timestamp::now())
                .await
            {
                Ok(report) if report.sent + report.failed + report.retried > 0 => {
                    tracing::info!(?report, "outbox flushed");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "outbox flush failed"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}

async fn daily_rules(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = Arc::clone(&state.store);
    let ingest = Arc::clone(&state.ingest);
    let workflow = Arc::clone(&state.workflow);
    let clock = state.engine_clock();
    tokio::task::spawn_blocking(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let today = clock.today.to_string();
        if store.get_meta(LAST_DAY)?.as_deref() == Some(today.as_str()) {
            return Ok(());
        }
        let access = Actor::system().write()?;
        let report = mikawaya_playbooks::evaluate_live(
            store.as_ref(),
            &access,
            &ingest,
            clock,
            &workflow.settings,
            false,
            None,
        )?;
        let known = store.health_days(mikawaya_playbooks::health::SCORECARD)?;
        if !known.contains(&clock.today) {
            // A first snapshot brings 26 weeks of history with it.
            let days = if known.is_empty() {
                let from = clock
                    .today
                    .checked_sub(jiff::Span::new().days(7 * 25))
                    .unwrap_or(clock.today);
                mikawaya_playbooks::health::days_back(from, clock.today, 7)
            } else {
                vec![clock.today]
            };
            let manage = Actor::system().manage()?;
            let written = ingest.read(|rollups| {
                mikawaya_playbooks::health::snapshot(store.as_ref(), &manage, &access.read(), rollups, &days)
            })??;
            tracing::info!(day = %today, scores = written, "health snapshot stored");
        }
        // Every defined metric's series, up to today.
        let facts = mikawaya_playbooks::facts::account_facts(store.as_ref(), &access.read())?;
        let manage = Actor::system().manage()?;
        let values = ingest.read(|rollups| {
            mikawaya_playbooks::series::update(store.as_ref(), &manage, &access.read(), rollups, &facts, clock.today)
        })??;
        tracing::info!(day = %today, values, "metric series updated");
        // The dashboards' numbers for everyone and for each partner.
        let read = access.read();
        crate::reports::refresh(store.as_ref(), &read, clock.today)?;
        for partner in store.list_partners(&read)? {
            let scoped = Actor::new(None, mikawaya_domain::access::Role::Partner, Some(partner.id), mikawaya_domain::access::Scope::Read)?;
            crate::reports::refresh(store.as_ref(), &scoped.read(), clock.today)?;
        }
        store.put_meta(LAST_DAY, &today)?;
        tracing::info!(day = %today, fired = report.fired.len(), advanced = report.advanced, "daily rules evaluated");
        Ok(())
    })
    .await?
}
