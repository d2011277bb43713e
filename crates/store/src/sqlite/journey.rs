//! The customer journey in SQLite: stage entries, the account's current stage kept equal to
//! its latest entry, and the stuck mark the daily run sets.

use super::row::{self, parsed};
use super::sql::Sql;
use crate::db::Value;
use crate::journey::{StageEntry, StageMove, StageSource};
use crate::{Result, StoreError};
use jiff::civil::Date;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, UserId, Visibility};
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn stage_entries(
    connection: &Connection,
    visibility: Visibility,
    account: Option<AccountId>,
) -> Result<Vec<StageEntry>> {
    let mut sql = Sql::new(
        "SELECT e.id, e.account_id, e.stage, e.entered_on, e.source, e.actor_id, e.recorded_at \
         FROM stage_entries e JOIN accounts a ON a.id = e.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    if let Some(account) = account {
        sql.bind(" AND e.account_id = ?", [Value::Integer(account.get())]);
    }
    sql.bind(" ORDER BY e.account_id, e.entered_on, e.id", []);
    let mut statement = connection.prepare_cached(&sql.text)?;
    let entries = statement
        .query_map(sql.params(), |r| {
            Ok(StageEntry {
                id: r.get(0)?,
                account_id: AccountId::new(r.get(1)?),
                stage: parsed(r, 2, Slug::parse)?,
                entered_on: parsed(r, 3, row::date)?,
                source: parsed(r, 4, StageSource::parse)?,
                actor_id: r.get::<_, Option<i64>>(5)?.map(UserId::new),
                recorded_at: parsed(r, 6, row::timestamp)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(entries)
}

/// Records that an account entered `stage` on `day` unless its stage on that day (its
/// latest entry on or before it) already was `stage`; then makes the account's stage that
/// of its latest entry. Returns whether an entry was recorded.
pub(crate) fn enter(
    connection: &Connection,
    account: AccountId,
    stage: &Slug,
    day: Date,
    source: StageSource,
    actor: Option<UserId>,
) -> Result<bool> {
    let on_that_day: Option<String> = connection
        .prepare_cached(
            "SELECT stage FROM stage_entries WHERE account_id = ?1 AND entered_on <= ?2 \
             ORDER BY entered_on DESC, id DESC LIMIT 1",
        )?
        .query_row(rusqlite::params![account.get(), day.to_string()], |r| {
            r.get(0)
        })
        .optional()?;
    if on_that_day.as_deref() == Some(stage.as_str()) {
        return Ok(false);
    }
    connection
        .prepare_cached(
            "INSERT INTO stage_entries (account_id, stage, entered_on, source, actor_id, recorded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            account.get(),
            stage.as_str(),
            day.to_string(),
            source.as_str(),
            actor.map(UserId::get),
            row::now()
        ])?;
    Ok(true)
}

/// The business day of now, the day a person's or an import's stage change counts from.
pub(crate) fn today(connection: &Connection) -> Result<Date> {
    let zone = crate::shared::config::business_time_zone(&crate::db::Db::Sqlite(connection))?;
    Ok(jiff::Timestamp::now().to_zoned(zone).date())
}

/// Records the entry a change of an account's stage by a person or an import makes (none
/// when the stage did not change or was cleared).
pub(crate) fn record_changed(
    connection: &Connection,
    account: AccountId,
    before: Option<&Slug>,
    after: Option<&Slug>,
    source: StageSource,
    actor: Option<UserId>,
) -> Result<()> {
    match after {
        Some(stage) if before != Some(stage) => {
            enter(
                connection,
                account,
                stage,
                today(connection)?,
                source,
                actor,
            )?;
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(crate) fn enter_stages(
    connection: &Connection,
    visibility: Visibility,
    actor: Option<UserId>,
    moves: &[StageMove],
) -> Result<usize> {
    let zone = crate::shared::config::business_time_zone(&crate::db::Db::Sqlite(connection))?;
    let now = jiff::Timestamp::now();
    let today = now.to_zoned(zone.clone()).date();
    let mut recorded = 0;
    for step in moves {
        let current = super::accounts::get(connection, visibility, step.account_id)?;
        let actor = actor.filter(|_| step.source == StageSource::Hand);
        if !enter(
            connection,
            step.account_id,
            &step.stage,
            step.day,
            step.source,
            actor,
        )? {
            continue;
        }
        recorded += 1;
        let latest: String = connection
            .prepare_cached(
                "SELECT stage FROM stage_entries WHERE account_id = ?1 \
                 ORDER BY entered_on DESC, id DESC LIMIT 1",
            )?
            .query_row([step.account_id.get()], |r| r.get(0))?;
        let before = current.stage.as_ref().map(ToString::to_string);
        if before.as_deref() != Some(latest.as_str()) {
            connection
                .prepare_cached("UPDATE accounts SET stage = ?1, updated_at = ?2 WHERE id = ?3")?
                .execute(rusqlite::params![latest, row::now(), step.account_id.get()])?;
            // The change happened on the day entered (today: now), so that what the
            // stage was on a past day reads back from the change log.
            let at = if step.day >= today {
                now
            } else {
                step.day
                    .to_zoned(zone.clone())
                    .map_err(|e| StoreError::Corrupt(format!("a stage entry's day: {e}")))?
                    .timestamp()
            };
            super::work::record_change_at(
                connection,
                step.account_id,
                "stage",
                before,
                Some(latest),
                &row::instant(at),
            )?;
        }
    }
    Ok(recorded)
}

pub(crate) fn put_stuck(connection: &Connection, stuck: &[AccountId]) -> Result<()> {
    connection.execute(
        "UPDATE account_signals SET stage_stuck = 0 WHERE stage_stuck <> 0",
        [],
    )?;
    let mut mark = connection
        .prepare_cached("UPDATE account_signals SET stage_stuck = 1 WHERE account_id = ?1")?;
    for account in stuck {
        if mark.execute([account.get()])? == 0 {
            return Err(StoreError::NotFound { entity: "account" });
        }
    }
    Ok(())
}
