//! Typed configuration and service state: versioned configuration (segment scorecards,
//! forecast models), the dashboards' reports per visibility scope, and the daily
//! pipeline's record of finished days.

use super::row::{self, parsed};
use crate::work::DailyRunRecord;
use crate::{Result, StoreError};
use mikawaya_domain::config::{ConfigKind, ConfigVersion};
use mikawaya_domain::{UserId, Visibility};
use rusqlite::{Connection, OptionalExtension};

fn version_row(kind: ConfigKind, row: &rusqlite::Row<'_>) -> rusqlite::Result<ConfigVersion> {
    Ok(ConfigVersion {
        kind,
        version: row.get(0)?,
        body: row.get(1)?,
        saved_by: row.get::<_, Option<i64>>(2)?.map(UserId::new),
        saved_at: parsed(row, 3, row::timestamp)?,
    })
}

const COLUMNS: &str = "version, body, saved_by, saved_at";

pub(crate) fn config(
    connection: &Connection,
    kind: ConfigKind,
    version: Option<i64>,
) -> Result<Option<ConfigVersion>> {
    let found = match version {
        Some(version) => connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 AND version = ?2"),
                rusqlite::params![kind.as_str(), version],
                |row| version_row(kind, row),
            )
            .optional()?,
        None => connection
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 ORDER BY version DESC LIMIT 1"
                ),
                [kind.as_str()],
                |row| version_row(kind, row),
            )
            .optional()?,
    };
    if version.is_some() && found.is_none() {
        return Err(StoreError::NotFound {
            entity: "configuration version",
        });
    }
    Ok(found)
}

pub(crate) fn config_versions(
    connection: &Connection,
    kind: ConfigKind,
) -> Result<Vec<ConfigVersion>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM config_versions WHERE kind = ?1 ORDER BY version DESC"
    ))?;
    let versions = statement
        .query_map([kind.as_str()], |row| version_row(kind, row))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(versions)
}

pub(crate) fn put_config(
    connection: &Connection,
    kind: ConfigKind,
    body: &str,
    saved_by: Option<UserId>,
) -> Result<ConfigVersion> {
    if kind.keeps_equal_versions()
        && let Some(latest) = config(connection, kind, None)?
        && latest.body == body
    {
        return Ok(latest);
    }
    let next: i64 = connection.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions WHERE kind = ?1",
        [kind.as_str()],
        |row| row.get(0),
    )?;
    connection.execute(
        "INSERT INTO config_versions (kind, version, body, saved_by, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![kind.as_str(), next, body, saved_by.map(UserId::get), row::now()],
    )?;
    config(connection, kind, Some(next))?.ok_or_else(|| {
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
    connection: &Connection,
    visibility: Visibility,
    day: jiff::civil::Date,
    body: &str,
) -> Result<()> {
    connection.execute(
        "INSERT INTO dashboard_reports (scope, day, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (scope) DO UPDATE SET day = excluded.day, body = excluded.body",
        rusqlite::params![scope(visibility), day.to_string(), body],
    )?;
    Ok(())
}

pub(crate) fn dashboard_report(
    connection: &Connection,
    visibility: Visibility,
) -> Result<Option<(jiff::civil::Date, String)>> {
    Ok(connection
        .query_row(
            "SELECT day, body FROM dashboard_reports WHERE scope = ?1",
            [scope(visibility)],
            |row| Ok((parsed(row, 0, row::date)?, row.get(1)?)),
        )
        .optional()?)
}

pub(crate) fn record_daily_run(connection: &Connection, run: &DailyRunRecord) -> Result<()> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    connection.execute(
        "INSERT INTO daily_runs (day, finished_at, fired, scores, metric_values) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (day) DO UPDATE SET finished_at = excluded.finished_at, fired = excluded.fired, \
         scores = excluded.scores, metric_values = excluded.metric_values",
        rusqlite::params![
            run.day.to_string(),
            row::now(),
            count(run.fired),
            count(run.scores),
            count(run.metric_values)
        ],
    )?;
    Ok(())
}

pub(crate) fn last_daily_run(connection: &Connection) -> Result<Option<jiff::civil::Date>> {
    Ok(connection
        .query_row(
            "SELECT day FROM daily_runs ORDER BY day DESC LIMIT 1",
            [],
            |row| parsed(row, 0, row::date),
        )
        .optional()?)
}

/// Where the business time zone is kept (a service fact in the meta table).
const TIME_ZONE_KEY: &str = "settings.time_zone";

pub(crate) fn business_time_zone(connection: &Connection) -> Result<jiff::tz::TimeZone> {
    let stored: Option<String> = connection
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [TIME_ZONE_KEY],
            |row| row.get(0),
        )
        .optional()?;
    match stored {
        None => Ok(jiff::tz::TimeZone::UTC),
        Some(name) => jiff::tz::TimeZone::get(&name).map_err(|_| {
            StoreError::Corrupt(format!("{TIME_ZONE_KEY}: '{name}' is not a time zone"))
        }),
    }
}

const CURRENCY_KEY: &str = "settings.currency";

pub(crate) fn default_currency(
    connection: &Connection,
) -> Result<Option<mikawaya_domain::value::Currency>> {
    let stored: Option<String> = connection
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [CURRENCY_KEY],
            |row| row.get(0),
        )
        .optional()?;
    stored
        .map(|code| {
            mikawaya_domain::value::Currency::parse(&code).map_err(|_| {
                StoreError::Corrupt(format!("{CURRENCY_KEY}: '{code}' is not a currency"))
            })
        })
        .transpose()
}

pub(crate) fn set_default_currency(
    connection: &Connection,
    currency: &mikawaya_domain::value::Currency,
) -> Result<()> {
    connection.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [CURRENCY_KEY, currency.as_str()],
    )?;
    Ok(())
}

pub(crate) fn set_business_time_zone(connection: &Connection, name: &str) -> Result<()> {
    if jiff::tz::TimeZone::get(name).is_err() {
        return Err(mikawaya_domain::Invalid::new(
            "time_zone",
            format!("'{name}' is not an IANA time zone such as Asia/Tokyo"),
        )
        .into());
    }
    connection.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [TIME_ZONE_KEY, name],
    )?;
    Ok(())
}
