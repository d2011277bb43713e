//! `mikawaya today`: a person's Today from the terminal, the same list as the home page
//! and `GET /api/v1/today` (`mikawaya_app::today`).

use crate::Failure;
use crate::commands::{
    IngestArgs, app_input, as_of_or_today, business_time_zone, open_ingest, open_store,
    store_failure,
};
use anyhow::anyhow;
use mikawaya_domain::Actor;
use mikawaya_domain::language::{Language, money};
use mikawaya_domain::value::Email;
use mikawaya_store::Store;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct TodayArgs {
    /// Whose Today: the owner's email.
    #[arg(long)]
    owner: String,
    /// The day, YYYY-MM-DD (default today in the data dir's business time zone).
    #[arg(long)]
    as_of: Option<String>,
    /// Language of the reasons: en or ja (default: the CLI's, from MIKAWAYA_LOCALE or LANG).
    #[arg(long)]
    lang: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ingest: IngestArgs,
}

pub fn run(data_dir: &Path, args: &TodayArgs) -> Result<(), Failure> {
    let language = match args.lang.as_deref() {
        None => crate::lang::language(),
        Some("en") => Language::En,
        Some("ja") => Language::Ja,
        Some(_) => return Err(Failure::input(anyhow!("--lang: must be en or ja"))),
    };
    let store: Arc<dyn Store> = open_store(data_dir)?;
    let email =
        Email::parse(&args.owner).map_err(|e| Failure::input(anyhow!("--owner: {}", e.reason)))?;
    let read = Actor::system().read();
    let owner = store
        .list_users(&read)
        .map_err(store_failure)?
        .into_iter()
        .find(|u| u.email == email)
        .ok_or_else(|| Failure::input(anyhow!("--owner: no user has the email {email}")))?;
    let day = as_of_or_today(
        args.as_of.as_deref(),
        "--as-of",
        store.as_ref(),
        &args.ingest,
    )?;
    let zone = business_time_zone(store.as_ref(), None)?;
    let service = open_ingest(data_dir, Arc::clone(&store), &args.ingest)?;
    let listed = service.read(|usage| {
        let day_of = |at: jiff::Timestamp| at.to_zoned(zone.clone()).date();
        mikawaya_app::today::today(
            store.as_ref(),
            &read,
            usage,
            mikawaya_app::today::Whose::Owner(owner.id),
            day,
            &day_of,
            &mikawaya_app::today::Policy::default(),
        )
    });
    service.shutdown();
    let today = listed.map_err(Failure::from)?.map_err(app_input)?;
    if args.json {
        let items: Vec<serde_json::Value> = today
            .items
            .iter()
            .map(|item| {
                serde_json::json!({
                    "account_id": item.account.id.get(),
                    "account_external_id": item.account.external_id.as_ref().map(ToString::to_string),
                    "name": item.account.name.as_str(),
                    "health": item.account.signals.health.map(mikawaya_domain::health::shown),
                    "colour": item.account.signals.colour().map(|c| c.as_str()),
                    "priority": item.priority.value,
                    "reasons": item.reasons.iter().map(|r| serde_json::json!({"code": r.code(), "text": r.sentence(language)})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"day": today.day.to_string(), "owner": owner.email.as_str(), "accounts": today.accounts, "items": items})
        );
        return Ok(());
    }
    println!(
        "{} · {} · {}/{}",
        owner.name,
        mikawaya_domain::language::date(today.day, language),
        today.items.len(),
        today.accounts
    );
    for (rank, item) in today.items.iter().enumerate() {
        let health = item
            .account
            .signals
            .health
            .map(|h| {
                format!(
                    "{} {}",
                    mikawaya_domain::health::shown(h),
                    mikawaya_domain::health::Colour::of(h)
                )
            })
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "{:>3}. {} ({health}, {})",
            rank + 1,
            item.account.name,
            money(item.account.arr(), &item.account.currency)
        );
        for reason in &item.reasons {
            println!("       - {}", reason.sentence(language));
        }
    }
    Ok(())
}
