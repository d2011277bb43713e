//! Analytics: the formulas of `shared/domain.md`, as pure functions over data the caller
//! read from the store. This crate is the "compute" step of the data flow: no IO, no
//! async, and it never reads the clock (periods are arguments). Usage comes from the
//! ingest crate's rollups, read through [`metrics::UsageSource`].

pub mod backtest;
pub mod churn;
pub mod dashboard;
pub mod forecast;
pub mod journey;
pub mod metrics;
pub mod parallel;
pub mod scorecard;
pub mod similar;
pub mod suggest;
pub mod voice;
