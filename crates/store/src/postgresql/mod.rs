//! The PostgreSQL backend (ADR 0005), being built: a pool of connections to one database
//! and its versioned migrations, applied by one node at a time.
//!
//! Migrations are the files in `migrations/postgres/`, numbered as their SQLite twins and
//! recorded in `schema_migrations`; a node applies the missing ones on connect while it
//! holds an advisory lock, so nodes starting together migrate once, and a database newer
//! than the binary is refused as a SQLite file is.

use crate::{Result, SchemaVersion, StoreError};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::NoTls;

/// Versioned migrations, applied in order on connect: each brings the schema to its
/// version (the numbers of the SQLite migrations). The first is the SQLite schema at
/// migration 18 in PostgreSQL's terms, recorded as versions 1 to 18.
const MIGRATIONS: &[(i64, &str)] = &[(
    18,
    include_str!("../../migrations/postgres/0018_baseline.sql"),
)];

/// The advisory lock key migrations are applied under ("mkwy" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d6b_7779;

/// Connections kept open by one node.
const POOL_SIZE: u32 = 8;

/// A Mikawaya database on a PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
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
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)?;
        let store = Self { pool };
        store.migrate()?;
        Ok(store)
    }

    /// Which migrations the database has and which this build knows.
    pub fn schema_version(&self) -> Result<SchemaVersion> {
        let mut client = self.pool.get()?;
        let applied = applied(&mut client)?;
        Ok(SchemaVersion {
            applied: u32::try_from(applied).unwrap_or(u32::MAX),
            known: u32::try_from(known()).unwrap_or(u32::MAX),
        })
    }

    /// Applies the missing migrations, one node at a time.
    fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get()?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let migrated = apply_missing(&mut client);
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
        migrated?;
        unlocked?;
        Ok(())
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
