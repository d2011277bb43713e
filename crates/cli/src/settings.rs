//! `mikawaya settings [currency CODE | time-zone NAME]`: the data dir's settings that are
//! kept in the store (the default currency of amounts that name none, the business time
//! zone every "today" is in). Without a subcommand, shows them.

use crate::Failure;
use crate::commands::{open_store, store_failure};
use anyhow::anyhow;
use mikawaya_domain::Actor;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum SettingsCommand {
    /// Sets the currency of amounts that name none (an ISO 4217 code such as JPY).
    Currency {
        /// The code.
        code: String,
    },
    /// Sets the business time zone (an IANA name such as Asia/Tokyo).
    TimeZone {
        /// The name.
        name: String,
    },
}

pub fn run(data_dir: &Path, command: Option<SettingsCommand>) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
    match command {
        Some(SettingsCommand::Currency { code }) => {
            mikawaya_app::import::set_default_currency(store.as_ref(), &manage, &code)
                .map_err(|e| Failure::input(anyhow!("currency: {e}")))?;
        }
        Some(SettingsCommand::TimeZone { name }) => {
            mikawaya_app::clock::resolve_time_zone(store.as_ref(), Some(&name))
                .map_err(|e| Failure::input(anyhow!("time zone: {e}")))?;
        }
        None => {}
    }
    let currency = store.default_currency().map_err(store_failure)?;
    let zone = store.business_time_zone().map_err(store_failure)?;
    println!(
        "currency\t{}",
        currency.map_or_else(|| "USD (not set)".to_owned(), String::from)
    );
    println!("time_zone\t{}", zone.iana_name().unwrap_or("UTC"));
    Ok(())
}
