//! Store modules written once for both engines, against [`crate::db::Db`] (ADR 0005). The
//! SQLite backend's modules move here one by one as the PostgreSQL backend grows.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod config;
pub(crate) mod partners;
pub(crate) mod team;
