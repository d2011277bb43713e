//! Importing a customer file (accounts, contacts, subscriptions, touchpoints): decode and
//! parse it (`mikawaya_import`), then write it in one transaction (`Store::import`). The
//! same use case for `mikawaya import` and `POST /api/v1/import/{kind}`. Mappings (header
//! mappings, value translations, a default currency) may be saved under a name and reused.

use crate::Result;
use jiff::civil::Date;
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::{Invalid, ReadAccess, WriteAccess};
use mikawaya_import::{ImportKind, ImportOptions, Mapping, SourceEncoding, parse_file};
use mikawaya_store::{ImportSummary, Store};
use std::collections::BTreeMap;

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

/// How to read one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportRequest {
    /// A saved mapping to start from.
    pub saved: Option<String>,
    /// Mappings given with this import (on top of the saved one).
    pub mapping: Mapping,
    /// The day a file without dates describes (default: today in the business time zone).
    pub as_of: Option<Date>,
}

/// Imports `bytes` as `kind`: every row, or nothing with every bad row named (a parse
/// error is `AppError::Import`, a row the store refuses `StoreError::ImportRejected`).
/// Amounts without a currency take the request's, else the data dir's default currency.
/// `progress` is told how many bytes were parsed.
pub fn import_file(
    store: &dyn Store,
    access: &WriteAccess,
    kind: ImportKind,
    bytes: &[u8],
    request: &ImportRequest,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported> {
    let mut mapping = resolved(store, &access.read(), request)?;
    if mapping.currency.is_none() {
        mapping.currency = store.default_currency()?.map(String::from);
    }
    let as_of = match request.as_of {
        Some(day) => day,
        None => crate::clock::Clock::system(store.business_time_zone()?).today(),
    };
    let parsed = parse_file(kind, bytes, &ImportOptions { mapping, as_of }, progress)?;
    let summary = store.import(access, parsed.batch)?;
    Ok(Imported {
        summary,
        encoding: parsed.encoding,
        ignored_columns: parsed.ignored_columns,
    })
}

/// The request's mapping: its saved one (by name) with the given mappings on top.
pub fn resolved(
    store: &dyn Store,
    access: &ReadAccess,
    request: &ImportRequest,
) -> Result<Mapping> {
    let base = match &request.saved {
        None => Mapping::default(),
        Some(name) => {
            let mut saved = saved_mappings(store, access)?;
            saved.remove(name).ok_or_else(|| {
                Invalid::new(
                    "mapping",
                    format!(
                        "no saved mapping named '{name}' (saved: {})",
                        if saved.is_empty() {
                            "none".to_owned()
                        } else {
                            saved.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                )
            })?
        }
    };
    Ok(base.then(request.mapping.clone()))
}

/// The saved mappings by name.
pub fn saved_mappings(store: &dyn Store, access: &ReadAccess) -> Result<BTreeMap<String, Mapping>> {
    match store.config(access, ConfigKind::ImportMappings, None)? {
        None => Ok(BTreeMap::new()),
        Some(version) => serde_json::from_str(&version.body).map_err(|e| {
            mikawaya_store::StoreError::Corrupt(format!("saved import mappings: {e}")).into()
        }),
    }
}

/// Saves `mapping` under `name` (a new version of the saved mappings), after checking it.
pub fn save_mapping(
    store: &dyn Store,
    access: &ManageAccess,
    name: &str,
    mapping: &Mapping,
) -> Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Invalid::new("save_mapping", "a mapping's name is 1-64 characters").into());
    }
    mapping.check()?;
    let mut saved = saved_mappings(store, &access.write().read())?;
    saved.insert(name.to_owned(), mapping.clone());
    let body = serde_json::to_string(&saved)
        .map_err(|e| mikawaya_store::StoreError::Corrupt(format!("saved import mappings: {e}")))?;
    store.put_config(access, ConfigKind::ImportMappings, &body)?;
    Ok(())
}

/// Sets the data dir's default currency (amounts that name none are in it).
pub fn set_default_currency(store: &dyn Store, access: &ManageAccess, code: &str) -> Result<()> {
    let currency = mikawaya_domain::value::Currency::parse(code)?;
    store.set_default_currency(access, &currency)?;
    Ok(())
}
