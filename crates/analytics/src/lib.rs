//! Analytics: the formulas of `shared/domain.md`, as pure functions over data the caller
//! read from the store. This crate is the "compute" step of the data flow: no IO, no
//! async, and it never reads the clock (periods are arguments).

pub mod churn;
