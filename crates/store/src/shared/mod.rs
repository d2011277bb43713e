//! The store's modules, written once for both engines against [`crate::db::Db`] (ADR 0005):
//! the SQLite and the PostgreSQL backends differ only in how they open a transaction.

pub(crate) mod accounts;
pub(crate) mod attention;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod children;
pub(crate) mod config;
pub(crate) mod import;
pub(crate) mod journey;
pub(crate) mod partners;
pub(crate) mod plans;
pub(crate) mod row;
pub(crate) mod sql;
mod store;
pub(crate) mod team;
pub(crate) mod voice;
pub(crate) mod work;
