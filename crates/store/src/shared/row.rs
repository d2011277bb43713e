//! The stored forms of dates, instants and JSON, read back with [`crate::db::Row::parsed`]
//! (a value that does not parse is corrupt data, not passed on).

use mikawaya_domain::Invalid;

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
