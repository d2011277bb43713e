//! What needs attention: each account's computed signals (written by the daily run, read
//! with every account) and the snoozes people put on accounts in their Today list.

use super::accounts;
use super::row;
use crate::Result;
use crate::db::{Db, Value};
use crate::work::{SignalRow, Snooze};
use mikawaya_domain::value::Text;
use mikawaya_domain::{AccountId, UserId, Visibility, WriteAccess};

/// Writes the signals of `day` for the given accounts, keeping their last touch, and moves
/// the history stamp. An account given twice keeps its last row.
pub(crate) fn put_signals(db: &Db<'_>, day: jiff::civil::Date, rows: &[SignalRow]) -> Result<()> {
    let mut last: std::collections::HashMap<AccountId, usize> = std::collections::HashMap::new();
    for (index, signal) in rows.iter().enumerate() {
        last.insert(signal.account_id, index);
    }
    let day = day.to_string();
    let values = rows
        .iter()
        .enumerate()
        .filter(|(index, signal)| last.get(&signal.account_id) == Some(index))
        .map(|(_, signal)| {
            vec![
                signal.account_id.get().into(),
                day.as_str().into(),
                signal.health.into(),
                signal.health_change.into(),
                signal.forecast_risk.into(),
                serde_json::to_string(&signal.forecast_factors)
                    .unwrap_or_else(|_| "[]".to_owned())
                    .into(),
            ]
        });
    db.upsert_rows(
        "account_signals",
        "account_id, day, health, health_change, forecast_risk, forecast_factors",
        6,
        values,
        "ON CONFLICT (account_id) DO UPDATE SET day = excluded.day, health = excluded.health, \
         health_change = excluded.health_change, forecast_risk = excluded.forecast_risk, \
         forecast_factors = excluded.forecast_factors",
    )?;
    // Sums kept over the book read the health in force (`Store::history_stamp`,
    // `Store::book_stamp`).
    db.execute("UPDATE history_stamp SET n = n + 1 WHERE id = 1", &[])?;
    db.execute("UPDATE book_stamp SET n = n + 1 WHERE id = 1", &[])?;
    // The accounts changed, for the sums kept over the book; for many, the whole book is
    // read again anyway, so the itemized changes are dropped (each table stays small).
    if last.len() <= ITEMIZED_SIGNALS {
        let stamp: i64 = db.query_one("SELECT n FROM book_stamp WHERE id = 1", &[], |row| {
            row.get(0)
        })?;
        let mut accounts: Vec<i64> = last.keys().map(|id| id.get()).collect();
        accounts.sort_unstable();
        db.insert_rows(
            "book_changes",
            "stamp, account_id",
            2,
            accounts
                .into_iter()
                .map(|account| vec![Value::Integer(stamp), Value::Integer(account)]),
        )?;
        // A small book's daily signals are itemized every day: the table is emptied when
        // it holds more than a whole read of most books would cost.
        let kept: i64 = db.query_one("SELECT COUNT(*) FROM book_changes", &[], |row| row.get(0))?;
        if kept <= KEPT_CHANGES {
            return Ok(());
        }
    }
    db.execute("DELETE FROM book_changes", &[])?;
    db.execute("UPDATE book_stamp SET changes_from = n WHERE id = 1", &[])?;
    Ok(())
}

/// Signals written for at most this many accounts name them in the book's changes; more
/// make readers of the book's changes read the whole book again.
const ITEMIZED_SIGNALS: usize = 1000;

/// The book's changes kept at most, checked where signals are written (bulk writes between
/// two days' signals may leave more until the next).
const KEPT_CHANGES: i64 = 100_000;

/// The latest day signals were written for.
pub(crate) fn signals_day(db: &Db<'_>) -> Result<Option<jiff::civil::Date>> {
    let day: Option<String> =
        db.query_one("SELECT MAX(day) FROM account_signals", &[], |r| r.get(0))?;
    day.map(|d| row::date(&d).map_err(|e| crate::StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Hides a visible account from one person's Today list until a day (replacing an earlier
/// snooze of theirs on it).
pub(crate) fn snooze(db: &Db<'_>, access: &WriteAccess, snooze: &Snooze) -> Result<()> {
    accounts::get(db, access.visibility(), snooze.account_id)?;
    db.execute(
        "INSERT INTO attention_snoozes (account_id, user_id, until, reason, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET until = excluded.until, \
         reason = excluded.reason, created_at = excluded.created_at",
        &[
            snooze.account_id.get().into(),
            snooze.user_id.get().into(),
            snooze.until.to_string().into(),
            snooze.reason.as_str().into(),
            row::instant(snooze.created_at).into(),
        ],
    )?;
    Ok(())
}

/// One person's snoozes still in force on `day`, on accounts they can see.
pub(crate) fn snoozes(
    db: &Db<'_>,
    visibility: Visibility,
    user: UserId,
    day: jiff::civil::Date,
) -> Result<Vec<Snooze>> {
    let statement = "SELECT z.account_id, z.user_id, z.until, z.reason, z.created_at, a.partner_id \
         FROM attention_snoozes z JOIN accounts a ON a.id = z.account_id \
         WHERE z.user_id = ?1 AND z.until >= ?2 ORDER BY z.until, z.account_id";
    let rows = db.query_map(
        statement,
        &[user.get().into(), day.to_string().into()],
        |r| {
            Ok((
                Snooze {
                    account_id: AccountId::new(r.get(0)?),
                    user_id: UserId::new(r.get(1)?),
                    until: r.parsed(2, row::date)?,
                    reason: r.parsed(3, Text::parse)?,
                    created_at: r.parsed(4, row::timestamp)?,
                },
                r.get::<Option<i64>>(5)?,
            ))
        },
    )?;
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
    db: &Db<'_>,
    access: &WriteAccess,
    user: UserId,
    account: AccountId,
) -> Result<()> {
    accounts::get(db, access.visibility(), account)?;
    db.execute(
        "DELETE FROM attention_snoozes WHERE account_id = ?1 AND user_id = ?2",
        &[account.get().into(), user.get().into()],
    )?;
    Ok(())
}
