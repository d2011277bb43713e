//! The background worker of a server: sends the outbox every few seconds, and runs the
//! daily pipeline (`mikawaya_app::pipeline`) at start and whenever the business day changes.

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;

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
        let (store, sums) = (Arc::clone(&state.store), Arc::clone(&state.sums));
        match tokio::task::spawn_blocking(move || sums.books.keep_current(store.as_ref())).await {
            Ok(Err(error)) => tracing::warn!(%error, "the kept book was not brought up to date"),
            Err(error) => tracing::warn!(%error, "the kept book was not brought up to date"),
            Ok(Ok(_)) => {}
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
    let sums = Arc::clone(&state.sums);
    let run = tokio::task::spawn_blocking(move || {
        let run = mikawaya_app::pipeline::run_daily(store.as_ref(), &ingest, clock, &workflow)?;
        // The day's signals changed the whole book: the leaders' kept book is read again
        // here, not by the next leader's view.
        if run.is_some()
            && let Err(error) = sums
                .books
                .current(store.as_ref(), &mikawaya_domain::Actor::system().read())
        {
            tracing::warn!(%error, "the kept book was not read again");
        }
        // Once a day, the rollups' snapshot catches up, so a restart after a crash
        // replays at most a day of events.
        if run.is_some()
            && let Err(error) = ingest.snapshot()
        {
            tracing::warn!(%error, "the rollups' snapshot was not written");
        }
        Ok::<_, mikawaya_app::AppError>(run)
    })
    .await??;
    if let Some(run) = run {
        tracing::info!(day = %clock.today, fired = run.fired, advanced = run.advanced, scores = run.scores, values = run.values, digests = run.digests, "daily pipeline ran");
    }
    Ok(())
}
