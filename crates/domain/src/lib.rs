//! The Mikawaya domain: the customer data model as types that cannot hold invalid values.
//!
//! This crate sits at the bottom of the data flow (in → store → compute → serve) and is
//! shared by all others. It does no IO, is not async and never reads the clock: callers
//! pass instants in. Every value type has one fallible constructor; once a value exists it
//! is valid, and downstream code never checks it again.

pub mod access;
pub mod account;
pub mod config;
pub mod contact;
pub mod custom_field;
pub mod error;
pub mod health;
pub mod ids;
pub mod language;
pub mod partner;
pub mod patch;
pub mod plan;
pub mod reasons;
pub mod segment;
pub mod subscription;
pub mod touchpoint;
pub mod user;
pub mod value;
pub mod voice;
pub mod work;

pub use access::{Actor, AdminAccess, ReadAccess, Visibility, WriteAccess};
pub use error::{DomainError, Invalid};
pub use ids::{
    AccountId, ContactId, PartnerId, PlanId, SegmentId, SubscriptionId, TokenId, TouchpointId,
    UserId,
};
pub use patch::Patch;
