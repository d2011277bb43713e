//! CLI tests: the built `mikawaya` binary in a temporary data dir.

mod browser;
mod commands;
mod crash;
mod differential;
mod digest;
mod disk_full;
mod events;
mod forecast;
mod health;
mod import;
mod listeners;
mod nodes;
mod playbooks;
mod scorecard;
mod util;
