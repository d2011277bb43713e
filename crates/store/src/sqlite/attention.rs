//! What needs attention: each account's computed signals (written by the daily run, read
//! with every account) and the snoozes people put on accounts in their Today list.

use super::accounts;
use super::row::{self, parsed};
use crate::Result;
use crate::work::{SignalRow, Snooze};
use mikawaya_domain::value::Text;
use mikawaya_domain::{AccountId, UserId, Visibility, WriteAccess};
use rusqlite::Connection;

/// Writes the signals of `day` for the given accounts, keeping their last touch.
pub(crate) fn put_signals(
    connection: &Connection,
    day: jiff::civil::Date,
    rows: &[SignalRow],
) -> Result<()> {
    let mut upsert = connection.prepare_cached(
        "INSERT INTO account_signals (account_id, day, health, health_change, forecast_risk, forecast_factors) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (account_id) DO UPDATE SET day = excluded.day, health = excluded.health, \
         health_change = excluded.health_change, forecast_risk = excluded.forecast_risk, \
         forecast_factors = excluded.forecast_factors",
    )?;
    for signal in rows {
        upsert.execute(rusqlite::params![
            signal.account_id.get(),
            day.to_string(),
            signal.health,
            signal.health_change,
            signal.forecast_risk,
            serde_json::to_string(&signal.forecast_factors).unwrap_or_else(|_| "[]".to_owned()),
        ])?;
    }
    Ok(())
}

/// The latest day signals were written for.
pub(crate) fn signals_day(connection: &Connection) -> Result<Option<jiff::civil::Date>> {
    let day: Option<String> =
        connection.query_row("SELECT MAX(day) FROM account_signals", [], |r| r.get(0))?;
    day.map(|d| row::date(&d).map_err(|e| crate::StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Hides a visible account from one person's Today list until a day (replacing an earlier
/// snooze of theirs on it).
pub(crate) fn snooze(connection: &Connection, access: &WriteAccess, snooze: &Snooze) -> Result<()> {
    accounts::get(connection, access.visibility(), snooze.account_id)?;
    connection.execute(
        "INSERT INTO attention_snoozes (account_id, user_id, until, reason, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET until = excluded.until, \
         reason = excluded.reason, created_at = excluded.created_at",
        rusqlite::params![
            snooze.account_id.get(),
            snooze.user_id.get(),
            snooze.until.to_string(),
            snooze.reason.as_str(),
            row::instant(snooze.created_at),
        ],
    )?;
    Ok(())
}

/// One person's snoozes still in force on `day`, on accounts they can see.
pub(crate) fn snoozes(
    connection: &Connection,
    visibility: Visibility,
    user: UserId,
    day: jiff::civil::Date,
) -> Result<Vec<Snooze>> {
    let mut statement = connection.prepare_cached(
        "SELECT z.account_id, z.user_id, z.until, z.reason, z.created_at, a.partner_id \
         FROM attention_snoozes z JOIN accounts a ON a.id = z.account_id \
         WHERE z.user_id = ?1 AND z.until >= ?2 ORDER BY z.until, z.account_id",
    )?;
    let rows = statement
        .query_map(rusqlite::params![user.get(), day.to_string()], |r| {
            Ok((
                Snooze {
                    account_id: AccountId::new(r.get(0)?),
                    user_id: UserId::new(r.get(1)?),
                    until: parsed(r, 2, row::date)?,
                    reason: parsed(r, 3, Text::parse)?,
                    created_at: parsed(r, 4, row::timestamp)?,
                },
                r.get::<_, Option<i64>>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, partner)| match visibility {
            Visibility::All => true,
            Visibility::Partner(id) => *partner == Some(id.get()),
        })
        .map(|(snooze, _)| snooze)
        .collect())
}

/// Ends one person's snooze on an account (nothing when there is none).
pub(crate) fn wake(
    connection: &Connection,
    access: &WriteAccess,
    user: UserId,
    account: AccountId,
) -> Result<()> {
    accounts::get(connection, access.visibility(), account)?;
    connection.execute(
        "DELETE FROM attention_snoozes WHERE account_id = ?1 AND user_id = ?2",
        rusqlite::params![account.get(), user.get()],
    )?;
    Ok(())
}
