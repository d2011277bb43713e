//! The demo company: a deterministic, simulated B2B SaaS customer base.
//!
//! Each account gets a hidden "value received" (0 to 1). It drives the chance to churn at
//! each renewal, the chance to expand or contract, and how engaged the CS team is, so the
//! analytics built on this data have something true to find. The hidden values are written
//! to `demo-truth.json` in the data dir, never into the store the product reads.
//!
//! Everything is drawn from one ChaCha8 stream seeded by `--seed`, so the same seed, size,
//! locale and as-of date give the same company. The data goes in through the same import
//! path as a customer's CSV files (`Store::import`), one transaction per kind.

pub mod feedback;
mod names;
mod plans;
mod simulate;
pub mod usage;
pub mod voice;

pub use simulate::{DemoCompany, DemoOptions, DemoSummary, Locale, generate, load};

/// Errors of the demo generator.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Options out of range.
    #[error("{0}")]
    Options(String),
    /// The store refused the data.
    #[error(transparent)]
    Store(#[from] mikawaya_store::StoreError),
    /// The event log refused the usage.
    #[error(transparent)]
    Ingest(#[from] mikawaya_ingest::IngestError),
    /// The truth file could not be written.
    #[error("writing {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
