//! Importing a customer file (accounts, contacts, subscriptions, touchpoints): decode and
//! parse it (`mikawaya_import`), then write it in one transaction (`Store::import`). The
//! same use case for `mikawaya import` and `POST /api/v1/import/{kind}`.

use crate::Result;
use mikawaya_domain::WriteAccess;
use mikawaya_import::{ImportKind, SourceEncoding, parse_file};
use mikawaya_store::{ImportSummary, Store};

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// Rows, created and updated.
    pub summary: ImportSummary,
    /// How the bytes were decoded.
    pub encoding: SourceEncoding,
    /// Columns in the file that map to nothing and were left out.
    pub ignored_columns: Vec<String>,
}

/// Imports `bytes` as `kind` with the header `mappings`: every row, or nothing with every
/// bad row named (a parse error is `AppError::Import`, a row the store refuses
/// `StoreError::ImportRejected`). `progress` is told how many bytes were parsed.
pub fn import_file(
    store: &dyn Store,
    access: &WriteAccess,
    kind: ImportKind,
    bytes: &[u8],
    mappings: &[(String, String)],
    progress: &mut dyn FnMut(u64),
) -> Result<Imported> {
    let parsed = parse_file(kind, bytes, mappings, progress)?;
    let summary = store.import(access, parsed.batch)?;
    Ok(Imported {
        summary,
        encoding: parsed.encoding,
        ignored_columns: parsed.ignored_columns,
    })
}
