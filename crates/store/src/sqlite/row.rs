//! Reading stored columns back into domain types. A value that does not parse is a
//! conversion error, reported as corrupt data rather than passed on.

use mikawaya_domain::Invalid;
use rusqlite::Row;
use rusqlite::types::Type;

fn corrupt(index: usize, invalid: Invalid) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(invalid))
}

/// A required text column parsed with `parse`.
pub(crate) fn parsed<T>(
    row: &Row<'_>,
    index: usize,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> rusqlite::Result<T> {
    let raw: String = row.get(index)?;
    parse(&raw).map_err(|e| corrupt(index, e))
}

/// An optional text column parsed with `parse`.
pub(crate) fn parsed_opt<T>(
    row: &Row<'_>,
    index: usize,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> rusqlite::Result<Option<T>> {
    let raw: Option<String> = row.get(index)?;
    raw.map(|raw| parse(&raw).map_err(|e| corrupt(index, e)))
        .transpose()
}

pub(crate) fn date(raw: &str) -> Result<jiff::civil::Date, Invalid> {
    mikawaya_domain::value::parse_date(raw, "date")
}

pub(crate) fn timestamp(raw: &str) -> Result<jiff::Timestamp, Invalid> {
    raw.parse()
        .map_err(|_| Invalid::new("timestamp", format!("'{raw}' is not a timestamp")))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, Invalid> {
    serde_json::from_str(raw).map_err(|e| Invalid::new("json", e.to_string()))
}

/// The stored form of an instant: RFC 3339 UTC, whole seconds, so text order is time order.
pub(crate) fn instant(timestamp: jiff::Timestamp) -> String {
    timestamp
        .round(jiff::Unit::Second)
        .unwrap_or(timestamp)
        .to_string()
}

/// Now, as stored.
pub(crate) fn now() -> String {
    instant(jiff::Timestamp::now())
}
