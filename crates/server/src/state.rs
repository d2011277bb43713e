//! Shared state of the server: the store, the usage service, caches and metrics.

use crate::error::ApiError;
use crate::metrics::Metrics;
use mikawaya_ingest::Ingest;
use mikawaya_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark session cookies `Secure` (default true; browsers accept them on
    /// `http://127.0.0.1` and `http://localhost`; turn off only behind plain HTTP on another host).
    pub secure_cookies: bool,
    /// Largest JSON body in bytes (default 1 MiB).
    pub json_limit: usize,
    /// Largest import file in bytes (default 256 MiB).
    pub import_limit: usize,
    /// How long a login session lasts (default 12 hours).
    pub session_hours: i64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            json_limit: 1024 * 1024,
            import_limit: 256 * 1024 * 1024,
            session_hours: 12,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The usage event log and rollups.
    pub ingest: Arc<Ingest>,
    /// Write keys recently seen: key hash → (source id, when checked).
    pub write_keys: Arc<RwLock<HashMap<String, (u32, Instant)>>>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Single sign-on, when configured.
    pub sso: Option<Arc<crate::html::sso::Sso>>,
    /// The OpenAPI document, built with the router.
    pub openapi: Arc<std::sync::OnceLock<serde_json::Value>>,
    /// Playbook and outbox settings.
    pub workflow: Arc<Workflow>,
    /// The book's history the last scorecard backtest read, for the next draft.
    pub backtest_history: Arc<mikawaya_app::backtest::HistoryCache>,
    /// The feedback similarity index, kept between requests.
    pub feedback_index: Arc<mikawaya_app::feedback::FeedbackIndex>,
    /// The leaders' sums over the whole book, kept while the book stands.
    pub sums: Arc<mikawaya_app::kept::Sums>,
    /// Set once shutdown began: requests in flight finish, `/readyz` says not ready.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

pub use mikawaya_app::pipeline::Workflow;

impl AppState {
    /// The data dir's clock: now, in its business time zone (the rollups' zone). Every
    /// "today" of a page, route or worker step comes from here.
    pub fn clock(&self) -> mikawaya_app::clock::Clock {
        mikawaya_app::clock::Clock::system(self.ingest.config().time_zone.clone())
    }

    /// The playbook engine's clock: today and now, by [`AppState::clock`].
    pub fn engine_clock(&self) -> mikawaya_playbooks::Clock {
        let clock = self.clock();
        mikawaya_playbooks::Clock {
            today: clock.today(),
            now: clock.now(),
        }
    }

    /// Builds the state around a store.
    pub fn new(store: Arc<dyn Store>, ingest: Arc<Ingest>, config: ServerConfig) -> Self {
        Self {
            store,
            ingest,
            write_keys: Arc::default(),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            openapi: Arc::default(),
            sso: None,
            workflow: Arc::default(),
            backtest_history: Arc::default(),
            sums: Arc::default(),
            feedback_index: Arc::default(),
            draining: Arc::default(),
        }
    }

    /// Whether shutdown began.
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Turns single sign-on on.
    #[must_use]
    pub fn with_sso(mut self, sso: crate::html::sso::Sso) -> Self {
        self.sso = Some(Arc::new(sso));
        self
    }

    /// Replaces the playbook and outbox settings.
    #[must_use]
    pub fn with_workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = Arc::new(workflow);
        self
    }

    /// Evaluates the rules for one account after its data changed, in the background
    /// (failures are logged: the change itself is already stored).
    pub fn react(&self, account: mikawaya_domain::AccountId) {
        let store = Arc::clone(&self.store);
        let ingest = Arc::clone(&self.ingest);
        let workflow = Arc::clone(&self.workflow);
        let clock = self.engine_clock();
        tokio::task::spawn_blocking(move || {
            let result = mikawaya_domain::Actor::system()
                .write()
                .map_err(|e| {
                    mikawaya_playbooks::PlaybookError::Invalid(mikawaya_domain::Invalid::new(
                        "actor",
                        e.to_string(),
                    ))
                })
                .and_then(|access| {
                    mikawaya_playbooks::evaluate_live(
                        store.as_ref(),
                        &access,
                        &ingest,
                        clock,
                        &workflow.settings,
                        false,
                        Some(account),
                    )
                });
            match result {
                Ok(report) if !report.fired.is_empty() => {
                    tracing::info!(%account, fired = report.fired.len(), "rules fired on a data change");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%account, %error, "evaluating rules after a change failed")
                }
            }
        });
    }

    /// Takes today's health snapshot (and the accounts' signals) again in the background (failures are logged: the
    /// change that asked for it is already stored, and health is computed until then).
    pub fn refresh_health_snapshot(&self) {
        let store = Arc::clone(&self.store);
        let ingest = Arc::clone(&self.ingest);
        let today = self.clock().today();
        tokio::task::spawn_blocking(move || {
            let system = mikawaya_domain::Actor::system();
            let result = system
                .manage()
                .map_err(|e| e.to_string())
                .and_then(|manage| {
                    ingest
                        .read(|rollups| {
                            let scores = mikawaya_app::health::snapshot(
                                store.as_ref(),
                                &manage,
                                &system.read(),
                                rollups,
                                &[today],
                            )?;
                            mikawaya_app::signals::refresh(store.as_ref(), rollups, today)?;
                            Ok::<_, mikawaya_app::AppError>(scores)
                        })
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())
                });
            match result {
                Ok(scores) => tracing::info!(day = %today, scores, "health snapshot taken again"),
                Err(error) => tracing::warn!(%error, "taking the health snapshot again failed"),
            }
        });
    }

    /// Runs a blocking call that reads the store and the usage rollups on the blocking
    /// pool (the rollups are read once the applier caught up with every acknowledged event).
    pub async fn run_with_usage<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store, &mikawaya_usage::rollup::Rollups) -> Result<T, StoreError>
        + Send
        + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        let ingest = Arc::clone(&self.ingest);
        tokio::task::spawn_blocking(move || ingest.read(|rollups| call(store.as_ref(), rollups)))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// Runs a blocking store call on the blocking pool, off the async runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }
}
