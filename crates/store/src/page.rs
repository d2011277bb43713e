//! Cursor pagination: `{"data":[...],"next_cursor":...}` with opaque, stable cursors.

use base64::Engine;
use mikawaya_domain::Invalid;

/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 1000;
/// The page size when none is given.
pub const DEFAULT_LIMIT: u32 = 50;

/// A page to fetch: a size and where to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    limit: u32,
    cursor: Option<Cursor>,
}

/// Where the previous page ended: the sort key and id of its last row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cursor {
    /// The sort the cursor was made for, so it is not reused with another.
    pub(crate) sort: String,
    /// Sort key of the last row (text or number).
    pub(crate) key: serde_json::Value,
    /// Id of the last row.
    pub(crate) id: i64,
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
}

impl PageRequest {
    /// Checks a page size (1 to 1000, default 50) and decodes a cursor.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, Invalid> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Invalid::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let cursor = cursor
            .filter(|raw| !raw.is_empty())
            .map(|raw| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
                    .ok_or_else(|| Invalid::new("cursor", "is not a cursor this server made"))
            })
            .transpose()?;
        Ok(Self { limit, cursor })
    }

    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            cursor: None,
        }
    }

    /// Page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub(crate) fn cursor_for(&self, sort: &str) -> Result<Option<&Cursor>, Invalid> {
        match &self.cursor {
            Some(cursor) if cursor.sort != sort => {
                Err(Invalid::new("cursor", "was made for another sort order"))
            }
            other => Ok(other.as_ref()),
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(DEFAULT_LIMIT)
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Where the next page starts; none on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Maps the rows.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Every row of a paged list: fetches the largest pages one after another until the last.
pub fn all_pages<T>(
    mut fetch: impl FnMut(&PageRequest) -> crate::Result<Page<T>>,
) -> crate::Result<Vec<T>> {
    let mut rows = Vec::new();
    let mut request = PageRequest::first(MAX_LIMIT);
    loop {
        let page = fetch(&request)?;
        rows.extend(page.data);
        match page.next_cursor {
            Some(cursor) => request = PageRequest::new(Some(MAX_LIMIT), Some(&cursor))?,
            None => return Ok(rows),
        }
    }
}
