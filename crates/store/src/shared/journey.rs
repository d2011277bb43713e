//! The customer journey in SQLite: stage entries, the account's current stage kept equal to
//! its latest entry, and the stuck mark the daily run sets.

use super::row;
use super::sql::Sql;
use crate::db::Db;
use crate::db::Value;
use crate::journey::{StageEntry, StageMove, StageSource};
use crate::{Result, StoreError};
use jiff::civil::Date;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, UserId, Visibility};

pub(crate) fn stage_entries(
    db: &Db<'_>,
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
    let statement = &sql.text;
    let entries = db.query_map(statement, &sql.params, |r| {
        Ok(StageEntry {
            id: r.get(0)?,
            account_id: AccountId::new(r.get(1)?),
            stage: r.parsed(2, Slug::parse)?,
            entered_on: r.parsed(3, row::date)?,
            source: r.parsed(4, StageSource::parse)?,
            actor_id: r.get::<Option<i64>>(5)?.map(UserId::new),
            recorded_at: r.parsed(6, row::timestamp)?,
        })
    })?;
    Ok(entries)
}

/// Records that an account entered `stage` on `day` unless its stage on that day (its
/// latest entry on or before it) already was `stage`; then makes the account's stage that
/// of its latest entry. Returns whether an entry was recorded.
pub(crate) fn enter(
    db: &Db<'_>,
    account: AccountId,
    stage: &Slug,
    day: Date,
    source: StageSource,
    actor: Option<UserId>,
) -> Result<bool> {
    let on_that_day: Option<String> = db.query_opt(
        "SELECT stage FROM stage_entries WHERE account_id = ?1 AND entered_on <= ?2 \
             ORDER BY entered_on DESC, id DESC LIMIT 1",
        &[account.get().into(), day.to_string().into()],
        |r| r.get(0),
    )?;
    if on_that_day.as_deref() == Some(stage.as_str()) {
        return Ok(false);
    }
    db.execute(
        "INSERT INTO stage_entries (account_id, stage, entered_on, source, actor_id, recorded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            account.get().into(),
            stage.as_str().into(),
            day.to_string().into(),
            source.as_str().into(),
            actor.map(UserId::get).into(),
            row::now().into(),
        ],
    )?;
    Ok(true)
}

/// The business day of now, the day a person's or an import's stage change counts from.
pub(crate) fn today(db: &Db<'_>) -> Result<Date> {
    let zone = crate::shared::config::business_time_zone(db)?;
    Ok(jiff::Timestamp::now().to_zoned(zone).date())
}

/// Records the entry a change of an account's stage by a person or an import makes (none
/// when the stage did not change or was cleared).
pub(crate) fn record_changed(
    db: &Db<'_>,
    account: AccountId,
    before: Option<&Slug>,
    after: Option<&Slug>,
    source: StageSource,
    actor: Option<UserId>,
) -> Result<()> {
    match after {
        Some(stage) if before != Some(stage) => {
            enter(db, account, stage, today(db)?, source, actor)?;
            Ok(())
        }
        _ => Ok(()),
    }
}

pub(crate) fn enter_stages(
    db: &Db<'_>,
    visibility: Visibility,
    actor: Option<UserId>,
    moves: &[StageMove],
) -> Result<usize> {
    let zone = crate::shared::config::business_time_zone(db)?;
    let now = jiff::Timestamp::now();
    let today = now.to_zoned(zone.clone()).date();
    let mut recorded = 0;
    for step in moves {
        let current = super::accounts::get(db, visibility, step.account_id)?;
        let actor = actor.filter(|_| step.source == StageSource::Hand);
        if !enter(
            db,
            step.account_id,
            &step.stage,
            step.day,
            step.source,
            actor,
        )? {
            continue;
        }
        recorded += 1;
        let latest: String = db.query_one(
            "SELECT stage FROM stage_entries WHERE account_id = ?1 \
                 ORDER BY entered_on DESC, id DESC LIMIT 1",
            &[step.account_id.get().into()],
            |r| r.get(0),
        )?;
        let before = current.stage.as_ref().map(ToString::to_string);
        if before.as_deref() != Some(latest.as_str()) {
            db.execute(
                "UPDATE accounts SET stage = ?1, updated_at = ?2 WHERE id = ?3",
                &[
                    (&latest).into(),
                    row::now().into(),
                    step.account_id.get().into(),
                ],
            )?;
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
                db,
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

pub(crate) fn put_stuck(db: &Db<'_>, stuck: &[AccountId]) -> Result<()> {
    db.execute(
        "UPDATE account_signals SET stage_stuck = 0 WHERE stage_stuck <> 0",
        &[],
    )?;
    let mark = "UPDATE account_signals SET stage_stuck = 1 WHERE account_id = ?1";
    for account in stuck {
        if db.execute(mark, &[account.get().into()])? == 0 {
            return Err(StoreError::NotFound { entity: "account" });
        }
    }
    Ok(())
}
