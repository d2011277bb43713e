//! The PostgreSQL backend (ADR 0005), being built: a pool of connections to one database
//! and its versioned migrations, applied by one node at a time.
//!
//! Migrations are the files in `migrations/postgres/`, numbered as their SQLite twins and
//! recorded in `schema_migrations`; a node applies the missing ones on connect while it
//! holds an advisory lock, so nodes starting together migrate once, and a database newer
//! than the binary is refused as a SQLite file is.

use crate::db::Db;
use crate::shared::{audit, auth, config, partners, team};
use crate::work::DailyRunRecord;
use crate::{
    ApiToken, AuditEntry, AuditFilter, Result, SchemaVersion, Session, StoreError, WriteKey,
};
use mikawaya_domain::access::{ManageAccess, Scope};
use mikawaya_domain::config::{ConfigKind, ConfigVersion};
use mikawaya_domain::custom_field::CustomFieldDef;
use mikawaya_domain::partner::{NewPartner, Partner};
use mikawaya_domain::segment::{NewSegment, Segment};
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::Currency;
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::{AdminAccess, PartnerId, ReadAccess, SegmentId, TokenId, UserId};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::NoTls;
use std::cell::RefCell;

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

    /// Runs `f` in a read-only transaction (one consistent view).
    fn read_db<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.pool.get()?;
        let mut transaction = client.build_transaction().read_only(true).start()?;
        let value = f(&Db::Postgres(RefCell::new(&mut transaction)))?;
        transaction.commit()?;
        Ok(value)
    }

    /// Runs `f` in one transaction, the acting user set for the audit trail's triggers;
    /// nothing is kept when `f` fails.
    fn write_db<T>(
        &self,
        actor: Option<UserId>,
        f: impl FnOnce(&Db<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.pool.get()?;
        let mut transaction = client.transaction()?;
        if let Some(actor) = actor {
            transaction.execute(
                "SELECT set_config('mikawaya.actor_id', $1, true)",
                &[&actor.get().to_string()],
            )?;
        }
        let value = f(&Db::Postgres(RefCell::new(&mut transaction)))?;
        transaction.commit()?;
        Ok(value)
    }

    // The configuration methods of `Store`, shared with SQLite (`shared::config`); they
    // move into `impl Store for PostgresStore` when every method has its shared module.

    /// See [`crate::Store::put_config`].
    pub fn put_config(
        &self,
        access: &ManageAccess,
        kind: ConfigKind,
        body: &str,
    ) -> Result<ConfigVersion> {
        let saved_by = access.user_id();
        self.write_db(saved_by, |db| config::put_config(db, kind, body, saved_by))
    }

    /// See [`crate::Store::config`].
    pub fn config(
        &self,
        _access: &ReadAccess,
        kind: ConfigKind,
        version: Option<i64>,
    ) -> Result<Option<ConfigVersion>> {
        self.read_db(|db| config::config(db, kind, version))
    }

    /// See [`crate::Store::config_versions`].
    pub fn config_versions(
        &self,
        _access: &ReadAccess,
        kind: ConfigKind,
    ) -> Result<Vec<ConfigVersion>> {
        self.read_db(|db| config::config_versions(db, kind))
    }

    /// See [`crate::Store::put_dashboard_report`].
    pub fn put_dashboard_report(
        &self,
        access: &ReadAccess,
        day: jiff::civil::Date,
        body: &str,
    ) -> Result<()> {
        let visibility = access.visibility();
        self.write_db(None, |db| {
            config::put_dashboard_report(db, visibility, day, body)
        })
    }

    /// See [`crate::Store::dashboard_report`].
    pub fn dashboard_report(
        &self,
        access: &ReadAccess,
    ) -> Result<Option<(jiff::civil::Date, String)>> {
        let visibility = access.visibility();
        self.read_db(|db| config::dashboard_report(db, visibility))
    }

    /// See [`crate::Store::business_time_zone`].
    pub fn business_time_zone(&self) -> Result<jiff::tz::TimeZone> {
        self.read_db(config::business_time_zone)
    }

    /// See [`crate::Store::set_business_time_zone`].
    pub fn set_business_time_zone(&self, access: &ManageAccess, name: &str) -> Result<()> {
        self.write_db(access.user_id(), |db| {
            config::set_business_time_zone(db, name)
        })
    }

    /// See [`crate::Store::default_currency`].
    pub fn default_currency(&self) -> Result<Option<Currency>> {
        self.read_db(config::default_currency)
    }

    /// See [`crate::Store::set_default_currency`].
    pub fn set_default_currency(&self, access: &ManageAccess, currency: &Currency) -> Result<()> {
        self.write_db(access.user_id(), |db| {
            config::set_default_currency(db, currency)
        })
    }

    /// See [`crate::Store::record_daily_run`].
    pub fn record_daily_run(&self, access: &ManageAccess, run: &DailyRunRecord) -> Result<()> {
        self.write_db(access.user_id(), |db| config::record_daily_run(db, run))
    }

    /// See [`crate::Store::put_metric`].
    pub fn put_metric(&self, access: &ManageAccess, name: &str, spec: &str) -> Result<()> {
        self.write_db(access.user_id(), |db| config::put_metric(db, name, spec))
    }

    /// See [`crate::Store::list_metrics`].
    pub fn list_metrics(&self) -> Result<Vec<(String, String)>> {
        self.read_db(config::list_metrics)
    }

    /// See [`crate::Store::get_metric`].
    pub fn get_metric(&self, name: &str) -> Result<String> {
        self.read_db(|db| config::get_metric(db, name))
    }

    /// See [`crate::Store::rename_metric`].
    pub fn rename_metric(&self, access: &ManageAccess, from: &str, to: &str) -> Result<()> {
        self.write_db(access.user_id(), |db| config::rename_metric(db, from, to))
    }

    /// See [`crate::Store::delete_metric`].
    pub fn delete_metric(&self, access: &ManageAccess, name: &str) -> Result<()> {
        self.write_db(access.user_id(), |db| config::delete_metric(db, name))
    }

    /// See [`crate::Store::last_daily_run`].
    pub fn last_daily_run(&self, _access: &ReadAccess) -> Result<Option<jiff::civil::Date>> {
        self.read_db(config::last_daily_run)
    }

    // Who is calling (`shared::auth`): tokens and sessions are rows, so any node accepts
    // what another issued.

    /// See [`crate::Store::list_users`].
    pub fn list_users(&self, access: &ReadAccess) -> Result<Vec<User>> {
        self.read_db(|db| auth::list_users(db, access.visibility()))
    }

    /// See [`crate::Store::get_user`].
    pub fn get_user(&self, access: &ReadAccess, id: UserId) -> Result<User> {
        self.read_db(|db| auth::get_user(db, access.visibility(), id))
    }

    /// See [`crate::Store::find_login`].
    pub fn find_login(&self, email: &Email) -> Result<Option<(User, Option<String>)>> {
        self.read_db(|db| auth::find_user_by_email(db, email))
    }

    /// See [`crate::Store::create_token`].
    pub fn create_token(
        &self,
        access: &AdminAccess,
        name: Name,
        scope: Scope,
        user_id: Option<UserId>,
        token_hash: String,
    ) -> Result<ApiToken> {
        self.write_db(access.user_id(), |db| {
            auth::create_token(db, name, scope, user_id, token_hash)
        })
    }

    /// See [`crate::Store::list_tokens`].
    pub fn list_tokens(&self, _access: &AdminAccess) -> Result<Vec<ApiToken>> {
        self.read_db(auth::list_tokens)
    }

    /// See [`crate::Store::revoke_token`].
    pub fn revoke_token(&self, access: &AdminAccess, id: TokenId) -> Result<()> {
        self.write_db(access.user_id(), |db| auth::revoke_token(db, id))
    }

    /// See [`crate::Store::find_token`].
    pub fn find_token(&self, token_hash: &str) -> Result<Option<(ApiToken, Option<User>)>> {
        self.read_db(|db| auth::find_token(db, token_hash))
    }

    /// See [`crate::Store::create_session`].
    pub fn create_session(
        &self,
        token_hash: String,
        user_id: UserId,
        csrf_token: String,
        expires_at: jiff::Timestamp,
    ) -> Result<()> {
        self.write_db(None, |db| {
            auth::create_session(db, token_hash, user_id, csrf_token, expires_at)
        })
    }

    /// See [`crate::Store::find_session`].
    pub fn find_session(&self, token_hash: &str, now: jiff::Timestamp) -> Result<Option<Session>> {
        self.read_db(|db| auth::find_session(db, token_hash, now))
    }

    /// See [`crate::Store::delete_session`].
    pub fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write_db(None, |db| auth::delete_session(db, token_hash))
    }

    // Partners and the audit trail (`shared::partners`, `shared::audit`).

    /// See [`crate::Store::list_partners`].
    pub fn list_partners(&self, access: &ReadAccess) -> Result<Vec<Partner>> {
        self.read_db(|db| partners::list_partners(db, access.visibility()))
    }

    /// See [`crate::Store::get_partner`].
    pub fn get_partner(&self, access: &ReadAccess, id: PartnerId) -> Result<Partner> {
        self.read_db(|db| partners::get_partner(db, access.visibility(), id))
    }

    /// See [`crate::Store::upsert_partner`].
    pub fn upsert_partner(&self, access: &ManageAccess, partner: NewPartner) -> Result<Partner> {
        self.write_db(access.user_id(), |db| {
            partners::upsert_partner(db, access.user_id(), partner)
        })
    }

    /// See [`crate::Store::delete_partner`].
    pub fn delete_partner(&self, access: &ManageAccess, id: PartnerId) -> Result<()> {
        self.write_db(access.user_id(), |db| {
            partners::delete_partner(db, access.user_id(), id)
        })
    }

    /// See [`crate::Store::audit_log`].
    pub fn audit_log(
        &self,
        _access: &AdminAccess,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>> {
        self.read_db(|db| audit::audit_log(db, filter))
    }

    // People, custom fields, segments and write keys (`shared::team`).

    /// See [`crate::Store::create_user`].
    pub fn create_user(
        &self,
        access: &AdminAccess,
        user: NewUser,
        password_hash: Option<String>,
    ) -> Result<User> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| {
            team::create_user(db, actor, user, password_hash)
        })
    }

    /// See [`crate::Store::set_password`].
    pub fn set_password(
        &self,
        access: &AdminAccess,
        id: UserId,
        password_hash: String,
    ) -> Result<()> {
        self.write_db(access.user_id(), |db| {
            team::set_user_column(db, id, "password_hash", Some(password_hash))
        })
    }

    /// See [`crate::Store::set_locale`].
    pub fn set_locale(&self, id: UserId, locale: Option<String>) -> Result<()> {
        self.write_db(None, |db| team::set_user_column(db, id, "locale", locale))
    }

    /// See [`crate::Store::delete_user`].
    pub fn delete_user(&self, access: &AdminAccess, id: UserId) -> Result<()> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| team::delete_user(db, actor, id))
    }

    /// See [`crate::Store::update_user`].
    pub fn update_user(
        &self,
        access: &AdminAccess,
        id: UserId,
        change: UserChange,
    ) -> Result<User> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| team::update_user(db, actor, id, change))
    }

    /// See [`crate::Store::set_user_active`].
    pub fn set_user_active(&self, access: &AdminAccess, id: UserId, active: bool) -> Result<User> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| team::set_user_active(db, actor, id, active))
    }

    /// See [`crate::Store::list_custom_fields`].
    pub fn list_custom_fields(&self) -> Result<Vec<CustomFieldDef>> {
        self.read_db(team::custom_fields)
    }

    /// See [`crate::Store::put_custom_field`].
    pub fn put_custom_field(&self, access: &AdminAccess, definition: CustomFieldDef) -> Result<()> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| team::put_custom_field(db, actor, &definition))
    }

    /// See [`crate::Store::delete_custom_field`].
    pub fn delete_custom_field(&self, access: &AdminAccess, key: &str) -> Result<()> {
        let actor = access.manage().user_id();
        self.write_db(actor, |db| team::delete_custom_field(db, actor, key))
    }

    /// See [`crate::Store::list_segments`].
    pub fn list_segments(&self, _access: &ReadAccess) -> Result<Vec<Segment>> {
        self.read_db(team::list_segments)
    }

    /// See [`crate::Store::get_segment`].
    pub fn get_segment(&self, _access: &ReadAccess, id: SegmentId) -> Result<Segment> {
        self.read_db(|db| team::get_segment(db, id))
    }

    /// See [`crate::Store::create_segment`].
    pub fn create_segment(&self, access: &ManageAccess, segment: NewSegment) -> Result<Segment> {
        self.write_db(access.user_id(), |db| {
            team::save_segment(db, access.user_id(), None, segment)
        })
    }

    /// See [`crate::Store::update_segment`].
    pub fn update_segment(
        &self,
        access: &ManageAccess,
        id: SegmentId,
        segment: NewSegment,
    ) -> Result<Segment> {
        self.write_db(access.user_id(), |db| {
            team::save_segment(db, access.user_id(), Some(id), segment)
        })
    }

    /// See [`crate::Store::delete_segment`].
    pub fn delete_segment(&self, access: &ManageAccess, id: SegmentId) -> Result<()> {
        self.write_db(access.user_id(), |db| {
            team::delete_segment(db, access.user_id(), id)
        })
    }

    /// See [`crate::Store::create_write_key`].
    pub fn create_write_key(
        &self,
        access: &AdminAccess,
        name: Name,
        key_hash: String,
    ) -> Result<WriteKey> {
        self.write_db(access.user_id(), |db| {
            team::create_write_key(db, name, key_hash)
        })
    }

    /// See [`crate::Store::list_write_keys`].
    pub fn list_write_keys(&self, _access: &AdminAccess) -> Result<Vec<WriteKey>> {
        self.read_db(team::list_write_keys)
    }

    /// See [`crate::Store::revoke_write_key`].
    pub fn revoke_write_key(&self, access: &AdminAccess, id: i64) -> Result<()> {
        self.write_db(access.user_id(), |db| team::revoke_write_key(db, id))
    }

    /// See [`crate::Store::find_write_key`].
    pub fn find_write_key(&self, key_hash: &str) -> Result<Option<WriteKey>> {
        self.read_db(|db| team::find_write_key(db, key_hash))
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
