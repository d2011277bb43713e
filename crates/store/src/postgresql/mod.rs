//! The PostgreSQL backend (ADR 0005): a pool of connections to one database and its
//! versioned migrations, applied by one node at a time. The store's behaviour is the
//! shared modules' (`crate::shared`), run in this engine's transactions.
//!
//! Migrations are the files in `migrations/postgres/`, numbered as their SQLite twins and
//! recorded in `schema_migrations`; a node applies the missing ones on connect while it
//! holds an advisory lock, so nodes starting together migrate once, and a database newer
//! than the binary is refused as a SQLite file is.

mod copy;
pub mod pool;

pub use copy::TableCopy;

use crate::db::Db;
use crate::{Result, SchemaVersion, StoreError};
use mikawaya_domain::UserId;
use r2d2_postgres::postgres::NoTls;
use std::cell::RefCell;
use std::path::Path;

/// Versioned migrations, applied in order on connect: each brings the schema to its
/// version (the numbers of the SQLite migrations). The first is the SQLite schema at
/// migration 18 in PostgreSQL's terms, recorded as versions 1 to 18.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        18,
        include_str!("../../migrations/postgres/0018_baseline.sql"),
    ),
    (19, include_str!("../../migrations/postgres/0019_nodes.sql")),
    (
        20,
        include_str!("../../migrations/postgres/0020_event_blocks.sql"),
    ),
    (
        21,
        include_str!("../../migrations/postgres/0021_book_stamp.sql"),
    ),
    (
        22,
        include_str!("../../migrations/postgres/0022_book_stamp_names.sql"),
    ),
    (
        23,
        include_str!("../../migrations/postgres/0023_book_changes.sql"),
    ),
    (
        24,
        include_str!("../../migrations/postgres/0024_packed_blocks.sql"),
    ),
];

/// The advisory lock key migrations are applied under ("mkwy" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d6b_7779;

/// Connections kept open by one node.
const POOL_SIZE: u32 = 8;

type Pool = r2d2::Pool<pool::Manager>;

/// A Mikawaya database on a PostgreSQL server.
///
/// Its calls block (the `postgres` driver runs a small runtime of its own per connection),
/// so an async program calls it off its runtime, as the server does with `spawn_blocking`.
#[derive(Debug)]
pub struct PostgresStore {
    /// Always `Some` but while dropping (see the `Drop` impl).
    pool: Option<Pool>,
    /// The connection URL, for PostgreSQL's own tools (backup and restore).
    url: String,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`)
    /// and applies the migrations it lacks.
    pub fn connect(url: &str) -> Result<Self> {
        let config: postgres::Config = url.parse().map_err(|error: postgres::Error| {
            StoreError::Invalid(mikawaya_domain::Invalid::new(
                "database_url",
                format!("not a PostgreSQL connection URL: {error}"),
            ))
        })?;
        let pool = pool::open(config, POOL_SIZE, std::time::Duration::from_secs(10), true)
            .map_err(|error| StoreError::Unreachable(crate::error_chain(&error)))?;
        let store = Self {
            pool: Some(pool),
            url: url.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A connection of the pool.
    fn connection(&self) -> Result<r2d2::PooledConnection<pool::Manager>> {
        match &self.pool {
            Some(pool) => Ok(pool.get()?),
            None => Err(StoreError::Corrupt("the store is being dropped".into())),
        }
    }

    /// Which migrations the database has and which this build knows.
    pub(crate) fn engine_schema_version(&self) -> Result<SchemaVersion> {
        let mut client = self.connection()?;
        let applied = applied(&mut client)?;
        Ok(SchemaVersion {
            applied: u32::try_from(applied).unwrap_or(u32::MAX),
            known: u32::try_from(known()).unwrap_or(u32::MAX),
        })
    }

    /// Runs `f` in a read-only transaction (one consistent view).
    pub(crate) fn read_db<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.connection()?;
        let mut transaction = client.cached_transaction(true)?;
        let value = f(&Db::Postgres(RefCell::new(&mut transaction)))?;
        transaction.commit()?;
        Ok(value)
    }

    /// Runs `f` in one transaction, the acting user set for the audit trail's triggers;
    /// nothing is kept when `f` fails.
    pub(crate) fn write_db<T>(
        &self,
        actor: Option<UserId>,
        f: impl FnOnce(&Db<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.connection()?;
        let mut transaction = client.cached_transaction(false)?;
        if let Some(actor) = actor {
            transaction.transaction.execute(
                "SELECT set_config('mikawaya.actor_id', $1, true)",
                &[&actor.get().to_string()],
            )?;
        }
        let value = f(&Db::Postgres(RefCell::new(&mut transaction)))?;
        transaction.commit()?;
        Ok(value)
    }

    /// Refreshes the planner's statistics of every table (after a bulk copy).
    pub fn analyze(&self) -> Result<()> {
        Ok(self.connection()?.batch_execute("ANALYZE")?)
    }

    /// Refreshes the planner's statistics of the tables a bulk load fills. Failing here only
    /// costs query plans, so it is logged, not returned.
    pub(crate) fn refresh_statistics(&self) {
        let analyzed = self.connection().and_then(|mut client| {
            Ok(client.batch_execute("ANALYZE accounts, contacts, subscriptions, touchpoints")?)
        });
        if let Err(error) = analyzed {
            tracing::warn!(%error, "refreshing planner statistics failed");
        }
    }

    /// Backs the database up with `pg_dump` (custom format: every table in one snapshot,
    /// consistent while the nodes write) to `target`, written as `target.partial` and
    /// renamed when whole.
    pub(crate) fn backup_to(&self, target: &Path) -> Result<()> {
        crate::write_whole(target, |partial| {
            run_tool(
                "pg_dump",
                &[
                    "--format=custom".as_ref(),
                    "--no-owner".as_ref(),
                    "--file".as_ref(),
                    partial.as_os_str(),
                    self.url.as_ref(),
                ],
            )
        })
    }

    /// Restores a backup made by [`crate::Store::backup`] into the empty database at `url`
    /// (in one transaction: all of it or nothing), then connects to it, applying any
    /// migration the backup predates.
    pub fn restore(backup: &Path, url: &str) -> Result<Self> {
        let mut client = postgres::Client::connect(url, NoTls)?;
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )?
            .get(0);
        if tables > 0 {
            return Err(StoreError::Conflict {
                field: "database_url".into(),
                reason: format!(
                    "the database is not empty ({tables} tables): restore into a new one"
                ),
            });
        }
        drop(client);
        run_tool(
            "pg_restore",
            &[
                "--no-owner".as_ref(),
                "--single-transaction".as_ref(),
                "--exit-on-error".as_ref(),
                "--dbname".as_ref(),
                url.as_ref(),
                backup.as_os_str(),
            ],
        )?;
        Self::connect(url)
    }

    /// Applies the missing migrations, one node at a time.
    fn migrate(&self) -> Result<()> {
        let mut client = self.connection()?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let migrated = apply_missing(&mut client);
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
        migrated?;
        unlocked?;
        Ok(())
    }
}

impl Drop for PostgresStore {
    /// Closing a connection blocks on the driver's runtime, which panics on a thread that
    /// drives an async runtime (a store dropped in an async function): the pool is closed
    /// on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::spawn(move || drop(pool));
            if closing.join().is_err() {
                tracing::warn!("closing the PostgreSQL connections failed");
            }
        }
    }
}

/// The number of migrations recorded.
fn applied(client: &mut postgres::Client) -> Result<i64> {
    let row = client.query_one(
        "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 \
         ELSE (SELECT COALESCE(max(version), 0) FROM schema_migrations) END",
        &[],
    )?;
    Ok(row.get(0))
}

fn apply_missing(client: &mut postgres::Client) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let current = applied(client)?;
    let known = known();
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let mut from = current;
    for (version, migration) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let mut transaction = client.transaction()?;
        transaction.batch_execute(migration)?;
        for covered in from + 1..=*version {
            transaction.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&covered],
            )?;
        }
        transaction.commit()?;
        tracing::info!(version, "PostgreSQL migration applied");
        from = *version;
    }
    Ok(())
}

/// The newest version this build's migrations bring a database to.
fn known() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Where PostgreSQL's client programs are looked for (newest first; a `pg_dump` must be at
/// least as new as the server), before `PATH`.
const TOOL_DIRS: &[&str] = &[
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
];

/// Runs one of PostgreSQL's programs; its error output is the error.
fn run_tool(program: &'static str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let path = TOOL_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
        .unwrap_or_else(|| program.into());
    let output = std::process::Command::new(&path)
        .args(args)
        .output()
        .map_err(|error| StoreError::Tool {
            program,
            message: format!(
                "could not run {} ({error}): install PostgreSQL's client programs",
                path.display()
            ),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(StoreError::Tool {
            program,
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
