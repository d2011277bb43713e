//! Each account's computed signals, kept beside it so that lists sort and filter by them:
//! the health in force on the day (the [`crate::health`] rule, so a list shows the same
//! score as Customer 360, the API and the CLI), its change over 30 days, and the churn
//! forecast's probability by the latest model (none when no model was trained or the
//! metrics changed since). Refreshed by the daily run and whenever the health snapshot is
//! taken again; the last touch is kept by the store on every touchpoint.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::Actor;
use mikawaya_playbooks::health::SCORECARD;
use mikawaya_store::Store;
use mikawaya_store::work::SignalRow;
use std::collections::BTreeMap;

/// How far back the health change looks.
pub const CHANGE_DAYS: i64 = 30;

/// Computes and stores every account's signals of `day`; returns how many were written.
pub fn refresh(store: &dyn Store, usage: &dyn UsageSource, day: Date) -> Result<usize> {
    let system = Actor::system();
    let read = system.read();
    let cards = cards_in_force(store)?;
    let now = crate::health::scores_on(store, &read, usage, day)?;
    let month_ago = day
        .checked_sub(jiff::Span::new().days(CHANGE_DAYS))
        .unwrap_or(day);
    let oldest = month_ago
        .checked_sub(jiff::Span::new().days(crate::health::SNAPSHOT_DAYS - 1))
        .unwrap_or(month_ago);
    // The latest stored score on or before 30 days ago (within a snapshot's week).
    let mut before: BTreeMap<_, f64> = BTreeMap::new();
    for row in store.health_rows(&read, SCORECARD, None, oldest, month_ago)? {
        if let Some(score) = row.score {
            before.insert(row.account_id, score);
        }
    }
    let risks: BTreeMap<i64, (f64, Vec<String>)> =
        match crate::forecast::predict(store, &read, usage, day) {
            Ok((_, predictions)) => predictions
                .into_iter()
                .map(|p| {
                    let factors = p.top_factors.into_iter().map(|f| f.feature).collect();
                    (p.account_id, (p.probability, factors))
                })
                .collect(),
            Err(error) => {
                tracing::debug!(%error, "no forecast risk in the signals");
                BTreeMap::new()
            }
        };
    let rows: Vec<SignalRow> = store
        .all_accounts(&read)?
        .iter()
        .map(|account| {
            let health = now.get(&account.id).and_then(|h| h.score);
            let (forecast_risk, forecast_factors) = risks
                .get(&account.id.get())
                .cloned()
                .map_or((None, Vec::new()), |(p, f)| (Some(p), f));
            SignalRow {
                account_id: account.id,
                health,
                health_change: health
                    .zip(before.get(&account.id))
                    .map(|(now, before)| now - before),
                forecast_risk,
                forecast_factors,
            }
        })
        .collect();
    store.put_signals(&system.manage()?, day, &rows)?;
    store.put_meta(CARDS_KEY, &cards.to_string())?;
    Ok(rows.len())
}

/// Where the version of the cards the signals were scored by is kept.
const CARDS_KEY: &str = "signals.cards_version";

fn cards_in_force(store: &dyn Store) -> Result<i64> {
    Ok(mikawaya_playbooks::health::card_set(store, &crate::health::peers_access())?.version())
}

/// Whether the signals of `day` are there and were scored by the cards in force (a server
/// stopped between saving new cards and refreshing leaves them scored by the old ones).
pub fn current(store: &dyn Store, day: Date) -> Result<bool> {
    Ok(store.signals_day()? >= Some(day)
        && store.get_meta(CARDS_KEY)? == Some(cards_in_force(store)?.to_string()))
}
