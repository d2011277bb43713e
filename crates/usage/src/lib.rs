//! The usage engine: what product usage *is*, apart from how it is stored or served.
//! Segment messages (`message`, with the direct `scan`ner), the binary record layout
//! (`record`), filters on event properties (`filter`) and the in-memory daily rollups
//! (`rollup`) that metrics read.
//!
//! Data flow: the ingest crate parses bytes with [`message`], writes [`record`]s to its
//! durable log and applies them to [`rollup::Rollups`]; analytics reads the rollups.
//!
//! Invariants (checked by `xtask tidy`'s dependency test): no store, no async runtime, no
//! file or network IO, no Parquet; it never reads the clock (receive times are arguments).

pub mod filter;
pub mod message;
pub mod position;
pub mod record;
pub mod rollup;
mod scan;

pub use position::Position;
