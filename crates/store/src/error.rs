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
    /// PostgreSQL failed or refused a statement.
    #[error("database error: {}", error_chain(.0))]
    Postgres(#[from] postgres::Error),
    /// No PostgreSQL connection could be had (the server is down, unreachable, or refuses
    /// the credentials).
    #[error("no database connection: {0}")]
    Unreachable(String),
    /// A program the store runs (PostgreSQL's `pg_dump`, `pg_restore`) is missing or failed.
    #[error("{program}: {message}")]
    Tool {
        /// The program.
        program: &'static str,
        /// What it said, or why it could not run.
        message: String,
    },
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

impl StoreError {
    /// Whether a unique constraint refused the change (either engine).
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(rusqlite::Error::SqliteFailure(failure, _)) => {
                failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            }
            StoreError::Postgres(error) => {
                error.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }

    /// Whether a unique constraint over `column` refused the change (either engine:
    /// SQLite names it `table.column` in its message, PostgreSQL in the detail
    /// `Key (column)=(…) already exists`).
    pub(crate) fn is_unique_violation_of(&self, column: &str) -> bool {
        if !self.is_unique_violation() {
            return false;
        }
        match self {
            StoreError::Database(rusqlite::Error::SqliteFailure(_, message)) => message
                .as_deref()
                .is_some_and(|m| m.contains(&format!(".{column}"))),
            StoreError::Postgres(error) => error.as_db_error().is_some_and(|db| {
                db.detail()
                    .is_some_and(|detail| detail.contains(&format!("({column})")))
                    || db.constraint().is_some_and(|name| name.contains(column))
            }),
            _ => false,
        }
    }

    /// Whether a foreign key refused the change (either engine). SQLite reports
    /// `ON DELETE RESTRICT` with the trigger code (`SQLITE_CONSTRAINT_TRIGGER`) and the
    /// foreign-key message, deferred checks with `SQLITE_CONSTRAINT_FOREIGNKEY`.
    pub(crate) fn is_reference_violation(&self) -> bool {
        match self {
            StoreError::Database(rusqlite::Error::SqliteFailure(failure, message)) => {
                failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                    || (failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_TRIGGER
                        && message
                            .as_deref()
                            .is_some_and(|m| m.contains("FOREIGN KEY")))
            }
            StoreError::Postgres(error) => {
                error.code() == Some(&postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
            }
            _ => false,
        }
    }

    /// Whether the disk (or the database's size limit) is full: nothing was written, and the
    /// same call succeeds once there is room again.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Database(rusqlite::Error::SqliteFailure(error, _)) => {
                error.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Io(error) => is_disk_full(error),
            _ => false,
        }
    }
}

/// Whether an IO error says the disk is full (ENOSPC, or a quota exceeded).
pub fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl From<DomainError> for StoreError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(invalid) => StoreError::Invalid(invalid),
            DomainError::Forbidden(reason) => StoreError::Forbidden(reason),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unreachable(error_chain(&error))
    }
}

/// An error's words followed by its causes' (a cause whose words are already shown is left
/// out). PostgreSQL's driver says only "db error" for a statement the server refused;
/// what the server said (`ERROR: relation … does not exist`) is its cause.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_database_is_told_apart_from_other_failures() {
        // A real SQLITE_FULL: the database may not grow past a few pages.
        let connection = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        connection
            .execute_batch("PRAGMA max_page_count = 4; CREATE TABLE t (v TEXT);")
            .unwrap_or_else(|e| panic!("{e}"));
        let full = (0..1000)
            .find_map(|_| {
                connection
                    .execute("INSERT INTO t VALUES (?1)", ["x".repeat(4000)])
                    .err()
            })
            .unwrap_or_else(|| panic!("the database never filled"));
        assert!(StoreError::from(full).is_disk_full());
        let other = connection.execute("INSERT INTO nope VALUES (1)", []);
        assert!(other.is_err_and(|e| !StoreError::from(e).is_disk_full()));
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(StoreError::from(enospc).is_disk_full());
        assert!(!StoreError::from(std::io::Error::other("x")).is_disk_full());
    }

    #[test]
    fn an_error_chain_shows_each_cause_once() {
        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);
        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|cause| cause as _)
            }
        }
        let server = Layer("ERROR: relation \"x\" does not exist", None);
        let driver = Layer("db error", Some(Box::new(server)));
        assert_eq!(
            error_chain(&driver),
            "db error: ERROR: relation \"x\" does not exist"
        );
        let repeated = Layer(
            "database error: db error",
            Some(Box::new(Layer("db error", None))),
        );
        assert_eq!(error_chain(&repeated), "database error: db error");
    }
}
