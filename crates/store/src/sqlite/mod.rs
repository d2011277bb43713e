//! The embedded backend: one SQLite database file in WAL mode.
//!
//! Threads: one writer connection behind a mutex (SQLite allows one writer at a time;
//! serializing writes here avoids `SQLITE_BUSY` retries) and a small pool of reader
//! connections that read concurrently thanks to WAL. Every write runs in a
//! `BEGIN IMMEDIATE` transaction that commits or rolls back as a whole; `synchronous=FULL`
//! makes a commit durable before the call returns.

use crate::db::Db;
use crate::{Result, StoreError};
use mikawaya_domain::UserId;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// Versioned migrations, applied in order on open; `PRAGMA user_version` records the last.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_customer_model.sql"),
    include_str!("../../migrations/0002_usage_sources.sql"),
    include_str!("../../migrations/0003_metrics.sql"),
    include_str!("../../migrations/0004_playbooks.sql"),
    include_str!("../../migrations/0005_health.sql"),
    include_str!("../../migrations/0006_metric_values.sql"),
    include_str!("../../migrations/0007_pulses.sql"),
    include_str!("../../migrations/0008_health_card.sql"),
    include_str!("../../migrations/0009_typed_config.sql"),
    include_str!("../../migrations/0010_account_signals.sql"),
    include_str!("../../migrations/0011_people.sql"),
    include_str!("../../migrations/0012_people_admin.sql"),
    include_str!("../../migrations/0013_history_stamp.sql"),
    include_str!("../../migrations/0014_success_plans.sql"),
    include_str!("../../migrations/0015_journey.sql"),
    include_str!("../../migrations/0016_voice.sql"),
    include_str!("../../migrations/0017_import.sql"),
    include_str!("../../migrations/0018_audit_trail.sql"),
    include_str!("../../migrations/0019_nodes.sql"),
    include_str!("../../migrations/0020_event_blocks.sql"),
    include_str!("../../migrations/0021_book_stamp.sql"),
    include_str!("../../migrations/0022_book_stamp_names.sql"),
    include_str!("../../migrations/0023_book_changes.sql"),
    include_str!("../../migrations/0024_packed_blocks.sql"),
];

/// Reader connections kept open.
const READERS: usize = 4;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle readers, tagged with the generation they were opened in.
    readers: Mutex<Vec<(u64, Connection)>>,
    reader_returned: Condvar,
    /// Bumped when planner statistics change; readers of older generations are closed on
    /// return, because a connection keeps the statistics it loaded when it opened.
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The database file name inside a data dir.
    pub const FILE_NAME: &'static str = "mikawaya.db";

    /// Opens (creating if needed) the store in a data dir and applies pending migrations.
    pub fn open_dir(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        Self::open(&data_dir.join(Self::FILE_NAME))
    }

    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        // Analyze what needs it once per open (cheap: SQLite limits the work itself).
        writer.execute_batch("PRAGMA optimize=0x10002")?;
        let readers = open_readers(path, 0)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
            reader_returned: Condvar::new(),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a reader connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let (generation, connection) = {
            let mut readers = self.readers.lock().map_err(|_| poisoned())?;
            loop {
                if let Some(reader) = readers.pop() {
                    break reader;
                }
                readers = self.reader_returned.wait(readers).map_err(|_| poisoned())?;
            }
        };
        let result = f(&connection);
        if generation == self.generation.load(std::sync::atomic::Ordering::Acquire) {
            if let Ok(mut readers) = self.readers.lock() {
                readers.push((generation, connection));
            }
            self.reader_returned.notify_one();
        }
        result
    }

    /// [`SqliteStore::read`] for a module written against [`Db`] (ADR 0005).
    pub(crate) fn read_db<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        self.read(|connection| f(&Db::Sqlite(connection)))
    }

    /// [`SqliteStore::write_by`] for a module written against [`Db`] (ADR 0005).
    pub(crate) fn write_db<T>(
        &self,
        actor: Option<UserId>,
        f: impl FnOnce(&Db<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_by(actor, |transaction| f(&Db::Sqlite(transaction)))
    }

    /// A write transaction made by `actor` (none: the system): the audit trail's triggers
    /// record them as the author of every change in it.
    pub(crate) fn write_by<T>(
        &self,
        actor: Option<UserId>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut connection = self.writer.lock().map_err(|_| poisoned())?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction
            .prepare_cached("UPDATE audit_context SET actor_id = ?1 WHERE id = 1")?
            .execute([actor.map(UserId::get)])?;
        let value = f(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }

    /// Runs `PRAGMA optimize` (analyzing the tables whose statistics are missing or stale)
    /// and replaces the idle readers so they plan with the new statistics. Failing here
    /// only costs query plans, so it is logged, not returned.
    pub(crate) fn refresh_statistics(&self) {
        let result = self
            .writer
            .lock()
            .map_err(|_| poisoned())
            .and_then(|connection| Ok(connection.execute_batch("PRAGMA optimize=0x10002")?))
            .and_then(|()| {
                let generation = self
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
                    + 1;
                let fresh = open_readers(&self.path, generation)?;
                let mut readers = self.readers.lock().map_err(|_| poisoned())?;
                *readers = fresh;
                self.reader_returned.notify_all();
                Ok(())
            });
        if let Err(error) = result {
            tracing::warn!(%error, "refreshing planner statistics failed");
        }
    }

    pub(crate) fn backup_to(&self, target: &Path) -> Result<()> {
        // SQLite's online backup copies every page in one step under one read transaction,
        // so the copy is consistent while writers go on (WAL).
        crate::write_whole(target, |partial| {
            self.read(|connection| {
                let mut destination = Connection::open(partial)?;
                let backup = rusqlite::backup::Backup::new(connection, &mut destination)?;
                backup.step(-1)?;
                drop(backup);
                destination.pragma_update(None, "journal_mode", "DELETE")?;
                Ok(())
            })
        })
    }

    /// See [`crate::Store::schema_version`].
    pub(crate) fn engine_schema_version(&self) -> Result<crate::SchemaVersion> {
        self.read(|connection| {
            let applied: i64 =
                connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
            Ok(crate::SchemaVersion {
                applied: u32::try_from(applied).unwrap_or(u32::MAX),
                known: u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX),
            })
        })
    }
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("a store lock was poisoned by a panic".into())
}

fn open_readers(path: &Path, generation: u64) -> Result<Vec<(u64, Connection)>> {
    (0..READERS)
        .map(|_| {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&reader)?;
            reader.pragma_update(None, "query_only", true)?;
            Ok((generation, reader))
        })
        .collect()
}

fn configure(connection: &Connection) -> Result<()> {
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.pragma_update(None, "busy_timeout", 5000)?;
    connection.pragma_update(None, "cache_size", -32_000)?;
    Ok(())
}

fn migrate(connection: &mut Connection) -> Result<()> {
    let current: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (index, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "applied store migration");
    }
    Ok(())
}
