//! The store's one error enum.

use mikawaya_domain::{DomainError, Invalid};

/// One rejected row of an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// Column name as written in the file.
    pub column: String,
    /// Why the row was rejected.
    pub reason: String,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No visible row with that id (rows of other partners are reported the same way).
    #[error("{entity} not found")]
    NotFound {
        /// The kind of entity.
        entity: &'static str,
    },
    /// A unique value is taken, or a row is still referenced.
    #[error("{field}: {reason}")]
    Conflict {
        /// The field that conflicts.
        field: String,
        /// Why.
        reason: String,
    },
    /// The input broke a rule only the store can check (references, custom field kinds).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The caller may not do this (e.g. a partner user assigning another partner).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// An import had rejected rows; nothing was written.
    #[error("import rejected: {} rows have errors", .0.len())]
    ImportRejected(Vec<RowError>),
    /// A stored row could not be read back into the domain (our fault).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed (our fault).
    #[error("database error")]
    Database(#[from] rusqlite::Error),
    /// A file could not be written (our fault).
    #[error("io error")]
    Io(#[from] std::io::Error),
    /// The store's migrations are newer than this program.
    #[error(
        "the data dir was written by a newer mikawaya (schema {found}, this build knows {known})"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
}

impl From<DomainError> for StoreError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(invalid) => StoreError::Invalid(invalid),
            DomainError::Forbidden(reason) => StoreError::Forbidden(reason),
        }
    }
}
