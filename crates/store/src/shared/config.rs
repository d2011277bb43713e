//! Typed configuration and service state: versioned configuration (segment scorecards,
//! forecast models), the dashboards' reports per visibility scope, and the daily
//! pipeline's record of finished days.

//!
//! Written once for both engines, through [`Db`] (ADR 0005).

use crate::db::{Db, Row, Value};
use crate::shared::row;
use crate::work::DailyRunRecord;
use crate::{Result, StoreError};
use mikawaya_domain::config::{ConfigKind, ConfigVersion};
use mikawaya_domain::{UserId, Visibility};

fn version_row(kind: ConfigKind, row: &Row<'_>) -> Result<ConfigVersion> {
    Ok(ConfigVersion {
        kind,
        version: row.get(0)?,
        body: row.get(1)?,
        saved_by: row.get::<Option<i64>>(2)?.map(UserId::new),
        saved_at: row.parsed(3, row::timestamp)?,
    })
}

const COLUMNS: &str = "version, body, saved_by, saved_at";

pub(crate) fn config(
    db: &Db<'_>,
    kind: ConfigKind,
    version: Option<i64>,
) -> Result<Option<ConfigVersion>> {
    let found = match version {
        Some(version) => db.query_opt(
            &format!("SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 AND version = ?2"),
            &[kind.as_str().into(), version.into()],
            |row| version_row(kind, row),
        )?,
        None => db.query_opt(
            &format!(
                "SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 ORDER BY version \
                     DESC LIMIT 1"
            ),
            &[kind.as_str().into()],
            |row| version_row(kind, row),
        )?,
    };
    if version.is_some() && found.is_none() {
        return Err(StoreError::NotFound {
            entity: "configuration version",
        });
    }
    Ok(found)
}

pub(crate) fn config_versions(db: &Db<'_>, kind: ConfigKind) -> Result<Vec<ConfigVersion>> {
    db.query_map(
        &format!("SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 ORDER BY version DESC"),
        &[kind.as_str().into()],
        |row| version_row(kind, row),
    )
}

pub(crate) fn put_config(
    db: &Db<'_>,
    kind: ConfigKind,
    body: &str,
    saved_by: Option<UserId>,
) -> Result<ConfigVersion> {
    if kind.keeps_equal_versions()
        && let Some(latest) = config(db, kind, None)?
        && latest.body == body
    {
        return Ok(latest);
    }
    let next: i64 = db.query_one(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions WHERE kind = ?1",
        &[kind.as_str().into()],
        |row| row.get(0),
    )?;
    db.execute(
        "INSERT INTO config_versions (kind, version, body, saved_by, saved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            kind.as_str().into(),
            next.into(),
            body.into(),
            saved_by.map(UserId::get).into(),
            row::now().into(),
        ],
    )?;
    config(db, kind, Some(next))?.ok_or_else(|| {
        StoreError::Corrupt(format!("{} v{next} vanished after saving", kind.as_str()))
    })
}

fn scope(visibility: Visibility) -> String {
    match visibility {
        Visibility::All => "all".to_owned(),
        Visibility::Partner(partner) => format!("partner:{partner}"),
    }
}

pub(crate) fn put_dashboard_report(
    db: &Db<'_>,
    visibility: Visibility,
    day: jiff::civil::Date,
    body: &str,
) -> Result<()> {
    db.execute(
        "INSERT INTO dashboard_reports (scope, day, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (scope) DO UPDATE SET day = excluded.day, body = excluded.body",
        &[
            scope(visibility).into(),
            day.to_string().into(),
            body.into(),
        ],
    )?;
    Ok(())
}

pub(crate) fn dashboard_report(
    db: &Db<'_>,
    visibility: Visibility,
) -> Result<Option<(jiff::civil::Date, String)>> {
    db.query_opt(
        "SELECT day, body FROM dashboard_reports WHERE scope = ?1",
        &[scope(visibility).into()],
        |row| Ok((row.parsed(0, row::date)?, row.get(1)?)),
    )
}

pub(crate) fn record_daily_run(db: &Db<'_>, run: &DailyRunRecord) -> Result<()> {
    let count = |n: u64| Value::from(i64::try_from(n).unwrap_or(i64::MAX));
    db.execute(
        "INSERT INTO daily_runs (day, finished_at, fired, scores, metric_values) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (day) DO UPDATE SET finished_at = excluded.finished_at, fired = excluded.fired, \
         scores = excluded.scores, metric_values = excluded.metric_values",
        &[
            run.day.to_string().into(),
            row::now().into(),
            count(run.fired),
            count(run.scores),
            count(run.metric_values),
        ],
    )?;
    Ok(())
}

pub(crate) fn last_daily_run(db: &Db<'_>) -> Result<Option<jiff::civil::Date>> {
    db.query_opt(
        "SELECT day FROM daily_runs ORDER BY day DESC LIMIT 1",
        &[],
        |row| row.parsed(0, row::date),
    )
}

/// A service fact of the meta table.
pub(crate) fn meta(db: &Db<'_>, key: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT value FROM meta WHERE key = ?1",
        &[(&key).into()],
        |row| row.get(0),
    )
}

/// Sets a service fact of the meta table.
pub(crate) fn set_meta(db: &Db<'_>, key: &str, value: &str) -> Result<()> {
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO \
             UPDATE SET value = excluded.value",
        &[(&key).into(), value.into()],
    )?;
    Ok(())
}

/// Where the business time zone is kept (a service fact in the meta table).
const TIME_ZONE_KEY: &str = "settings.time_zone";

pub(crate) fn business_time_zone(db: &Db<'_>) -> Result<jiff::tz::TimeZone> {
    match meta(db, TIME_ZONE_KEY)? {
        None => Ok(jiff::tz::TimeZone::UTC),
        Some(name) => jiff::tz::TimeZone::get(&name).map_err(|_| {
            StoreError::Corrupt(format!("{TIME_ZONE_KEY}: '{name}' is not a time zone"))
        }),
    }
}

const CURRENCY_KEY: &str = "settings.currency";

pub(crate) fn default_currency(db: &Db<'_>) -> Result<Option<mikawaya_domain::value::Currency>> {
    meta(db, CURRENCY_KEY)?
        .map(|code| {
            mikawaya_domain::value::Currency::parse(&code).map_err(|_| {
                StoreError::Corrupt(format!("{CURRENCY_KEY}: '{code}' is not a currency"))
            })
        })
        .transpose()
}

pub(crate) fn set_default_currency(
    db: &Db<'_>,
    currency: &mikawaya_domain::value::Currency,
) -> Result<()> {
    set_meta(db, CURRENCY_KEY, currency.as_str())
}

pub(crate) fn set_business_time_zone(db: &Db<'_>, name: &str) -> Result<()> {
    if jiff::tz::TimeZone::get(name).is_err() {
        return Err(mikawaya_domain::Invalid::new(
            "time_zone",
            format!("'{name}' is not an IANA time zone such as Asia/Tokyo"),
        )
        .into());
    }
    set_meta(db, TIME_ZONE_KEY, name)
}

// --- metric definitions -------------------------------------------------------

/// Saves a metric's definition (its JSON spec) under its name.
pub(crate) fn put_metric(db: &Db<'_>, name: &str, spec: &str) -> Result<()> {
    db.execute(
        "INSERT INTO metrics (name, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) \
         ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
        &[name.into(), spec.into(), row::now().into()],
    )?;
    Ok(())
}

/// Every metric's name and spec, by name.
pub(crate) fn list_metrics(db: &Db<'_>) -> Result<Vec<(String, String)>> {
    db.query_map("SELECT name, spec FROM metrics ORDER BY name", &[], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })
}

/// One metric's spec.
pub(crate) fn get_metric(db: &Db<'_>, name: &str) -> Result<String> {
    db.query_opt(
        "SELECT spec FROM metrics WHERE name = ?1",
        &[name.into()],
        |row| row.get(0),
    )?
    .ok_or(StoreError::NotFound { entity: "metric" })
}

/// Deletes a metric with its stored series.
pub(crate) fn delete_metric(db: &Db<'_>, name: &str) -> Result<()> {
    if db.execute("DELETE FROM metrics WHERE name = ?1", &[name.into()])? == 0 {
        return Err(StoreError::NotFound { entity: "metric" });
    }
    db.execute(
        "DELETE FROM metric_values WHERE metric = ?1",
        &[name.into()],
    )?;
    Ok(())
}

/// Renames a metric, its spec's name and its stored series; the new name must be free.
pub(crate) fn rename_metric(db: &Db<'_>, from: &str, to: &str) -> Result<()> {
    let taken = db.query_opt(
        "SELECT 1 FROM metrics WHERE name = ?1",
        &[to.into()],
        |row| row.get::<i64>(0),
    )?;
    if taken.is_some() {
        return Err(StoreError::Conflict {
            field: "to".into(),
            reason: format!("a metric named {to} exists"),
        });
    }
    let mut spec: serde_json::Value = row::json(&get_metric(db, from)?)
        .map_err(|invalid| StoreError::Corrupt(format!("metric {from}: {invalid}")))?;
    if let Some(object) = spec.as_object_mut() {
        object.insert("name".to_owned(), serde_json::Value::from(to));
    }
    db.execute(
        "UPDATE metrics SET name = ?2, spec = ?3, updated_at = ?4 WHERE name = ?1",
        &[
            from.into(),
            to.into(),
            spec.to_string().into(),
            row::now().into(),
        ],
    )?;
    db.execute(
        "UPDATE metric_values SET metric = ?2 WHERE metric = ?1",
        &[from.into(), to.into()],
    )?;
    Ok(())
}

/// The count of changes to the history the analytics read (accounts, subscriptions,
/// touchpoints, survey answers, pulses, account changes), bumped by triggers in the writing
/// transaction: a cache keyed by it is stale when it moves.
pub(crate) fn history_stamp(db: &Db<'_>) -> Result<i64> {
    db.query_one("SELECT n FROM history_stamp WHERE id = 1", &[], |row| {
        row.get(0)
    })
}

/// The count of changes to the book itself (accounts, subscriptions, account changes, the
/// accounts' signals, the names of people and partners), bumped in the writing transaction: sums over the book keyed by it
/// are stale when it moves.
pub(crate) fn book_stamp(db: &Db<'_>) -> Result<i64> {
    db.query_one("SELECT n FROM book_stamp WHERE id = 1", &[], |row| {
        row.get(0)
    })
}

/// The rows of the main tables.
pub(crate) fn count_rows(db: &Db<'_>) -> Result<crate::StoreStats> {
    let count = |table: &str| -> Result<u64> {
        let count: i64 = db.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[], |row| {
            row.get(0)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    };
    Ok(crate::StoreStats {
        accounts: count("accounts")?,
        contacts: count("contacts")?,
        subscriptions: count("subscriptions")?,
        touchpoints: count("touchpoints")?,
        users: count("users")?,
    })
}

/// Takes (or renews) the lease `name` for `holder` until `until`, when it is free: never
/// taken, expired at `now`, or `holder`'s already; whether `holder` holds it now. One
/// statement, so two nodes asking at once cannot both get it.
pub(crate) fn take_lease(
    db: &Db<'_>,
    name: &str,
    holder: &str,
    until: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<bool> {
    let held: Option<String> = db.query_opt(
        "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE leases.until < ?4 OR leases.holder = excluded.holder \
         RETURNING holder",
        &[
            name.into(),
            holder.into(),
            row::instant(until).into(),
            row::instant(now).into(),
        ],
        |row| row.get(0),
    )?;
    Ok(held.as_deref() == Some(holder))
}

/// Gives the lease `name` back when `holder` has it.
pub(crate) fn release_lease(db: &Db<'_>, name: &str, holder: &str) -> Result<()> {
    db.execute(
        "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
        &[name.into(), holder.into()],
    )?;
    Ok(())
}
