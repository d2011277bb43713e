//! The public JSON shapes of the API and their conversions to and from domain types.
//! Request bodies are plain structs; converting them to domain values names the field
//! that fails. Absent = keep, `null` = clear, a value = set, in every update body.

use crate::error::ApiError;
use mikawaya_domain::Invalid;
use mikawaya_domain::Patch;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Deserializes a field that distinguishes absent (outer None) from null (Some(None)).
pub fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses an optional field, naming it on failure.
pub fn optional<T>(
    raw: Option<&str>,
    field: &str,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    raw.map(|raw| parse(raw).map_err(|e| e.in_field(field)))
        .transpose()
}

/// Parses a required field, naming it on failure.
pub fn required<T>(
    raw: &str,
    field: &str,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> Result<T, Invalid> {
    parse(raw).map_err(|e| e.in_field(field))
}

/// Parses an update field: absent keeps, null clears, a value sets.
pub fn patch<T>(
    raw: Option<Option<String>>,
    field: &str,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> Result<Patch<T>, Invalid> {
    Patch::from_wire(raw).try_map(|raw| parse(&raw).map_err(|e| e.in_field(field)))
}

/// A date field parser for `optional`/`patch`.
pub fn date(field: &'static str) -> impl Fn(&str) -> Result<jiff::civil::Date, Invalid> {
    move |raw| mikawaya_domain::value::parse_date(raw, field)
}

/// A list page.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOut<T: ToSchema> {
    /// The rows.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageOut<T> {
    /// Converts a store page.
    pub fn from_page<U>(page: mikawaya_store::Page<U>, convert: impl FnMut(U) -> T) -> Self {
        let page = page.map(convert);
        Self {
            data: page.data,
            next_cursor: page.next_cursor,
        }
    }
}

/// Page size and cursor parameters, shared by every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// Rows per page, 1 to 1000 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// Checks the page request.
    pub fn to_request(&self) -> Result<mikawaya_store::PageRequest, Invalid> {
        mikawaya_store::PageRequest::new(self.limit, self.cursor.as_deref())
    }
}

/// Formats an instant for the wire.
pub fn instant(timestamp: jiff::Timestamp) -> String {
    timestamp
        .round(jiff::Unit::Second)
        .unwrap_or(timestamp)
        .to_string()
}

/// A stored JSON document read back for the wire; one that does not parse is corrupt data
/// (our fault, a 500 logged with its reason), never shown as empty.
pub fn stored_json(text: &str, what: &str) -> Result<serde_json::Value, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::from(mikawaya_store::StoreError::Corrupt(format!("{what}: {e}"))))
}
