//! The use cases: every operation that more than one edge can start (a page, an API route,
//! a CLI command, the background worker) lives here once, and the edges only translate in
//! and out. It sits between the edges (`server`, `cli`) and the engines (`analytics`,
//! `playbooks`) and the store.
//!
//! - [`clock`]: what "today" is for a data dir (its business time zone).
//! - [`credentials`]: password hashes, API tokens, write keys, and the actors behind them.
//! - [`digest`]: each CSM's daily digest (email, webhook) and @mention notices.
//! - [`forecast`]: train, predict and backtest the churn forecast.
//! - [`health`]: an account's health, its scorecard and drivers, the same on every screen.
//! - [`backtest`]: does a metric or a scorecard predict churn (same observations for all).
//! - [`churn`]: churn, GRR and NRR over a period, overall and per cohort.
//! - [`import`]: a customer file (accounts, contacts, subscriptions, touchpoints) in.
//! - [`metrics`]: metric definitions deleted or renamed with their series.
//! - [`pipeline`]: the daily run (rules, health snapshot, metric series, reports).
//! - [`reports`]: the dashboards' numbers per visibility scope, kept for the day.
//! - [`series`]: stored metric time series, kept current day by day.
//! - [`table`]: account × date × metric tables and observation datasets, in bulk.
//! - [`signals`]: each account's health, its change, forecast risk, kept for lists.
//! - [`today`]: what needs a person's attention today, and why, in words and numbers.
//! - [`work`]: touchpoints and tasks written by people, their @mentions notified.
//!
//! Invariants: knows no HTTP and no terminal (no axum, no clap); reads the clock only in
//! [`clock::Clock::system`]; every store read takes the caller's access proof.

pub mod audit;
pub mod backtest;
pub mod backup;
pub mod churn;
pub mod clock;
pub mod credentials;
pub mod digest;
pub mod effect;
pub mod explore;
pub mod feedback;
pub mod forecast;
pub mod health;
pub mod import;
pub mod journey;
pub mod kept;
pub mod metrics;
pub mod names;
pub mod people;
pub mod pipeline;
pub mod plans;
pub mod replay;
pub mod reports;
pub mod scorecards;
pub mod series;
pub mod signals;
pub mod sso;
pub mod surveys;
pub mod table;
pub mod team;
pub mod today;
pub mod voice;
pub mod work;

/// Errors of the use cases.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is invalid (the field is named).
    #[error(transparent)]
    Invalid(#[from] mikawaya_domain::Invalid),
    /// The store failed, or refused (not found, conflict).
    #[error(transparent)]
    Store(#[from] mikawaya_store::StoreError),
    /// The playbook engine failed.
    #[error(transparent)]
    Playbook(mikawaya_playbooks::PlaybookError),
    /// The forecast could not be trained (our fault; too little data is `Invalid`).
    #[error(transparent)]
    Forecast(mikawaya_analytics::forecast::ForecastError),
    /// A file could not be read as an import (the reason names the line and column).
    #[error(transparent)]
    Import(#[from] mikawaya_import::ImportError),
    /// The usage event log or rollups failed.
    #[error(transparent)]
    Usage(#[from] mikawaya_ingest::IngestError),
    /// The system actor could not be made (a bug).
    #[error(transparent)]
    Domain(#[from] mikawaya_domain::DomainError),
}

/// The engine's invalid input and store failures keep their meaning here.
impl From<mikawaya_playbooks::PlaybookError> for AppError {
    fn from(error: mikawaya_playbooks::PlaybookError) -> Self {
        match error {
            mikawaya_playbooks::PlaybookError::Invalid(invalid) => AppError::Invalid(invalid),
            mikawaya_playbooks::PlaybookError::Store(store) => AppError::Store(store),
            other => AppError::Playbook(other),
        }
    }
}

/// Result of use-case calls.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Inside a store call (a blocking task that returns store errors): the store's errors and
/// invalid input keep their meaning; anything else is reported as ours.
impl From<AppError> for mikawaya_store::StoreError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Store(store) => store,
            AppError::Invalid(invalid) => invalid.into(),
            AppError::Playbook(playbook) => playbook.into(),
            AppError::Domain(mikawaya_domain::DomainError::Invalid(invalid)) => invalid.into(),
            AppError::Import(mikawaya_import::ImportError::Rows(rows)) => {
                mikawaya_store::StoreError::ImportRejected(rows)
            }
            other => mikawaya_store::StoreError::Corrupt(other.to_string()),
        }
    }
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break; a cell a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
pub fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
