//! The pool's connections, each with the statements it prepared: a statement is parsed
//! and planned by PostgreSQL once per connection, not once per call (a page that runs
//! twenty small statements otherwise pays twenty extra round trips).

use crate::db::PgClient;
use postgres::types::{ToSql, Type};
use postgres::{Client, Statement};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::NoTls;
use std::collections::HashMap;

/// Statements kept per connection; past this the cache starts over (statements whose SQL
/// varies, such as an `IN` list of many lengths, must not grow it without end).
const STATEMENTS_KEPT: usize = 512;

type Key = (String, Vec<Type>);

/// A pooled connection and its prepared statements.
pub struct Connection {
    client: Client,
    statements: HashMap<Key, Statement>,
}

impl std::ops::Deref for Connection {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl Connection {
    /// The statement `sql` (its parameters typed by PostgreSQL), prepared once on this
    /// connection; usable in its transactions.
    pub fn prepare_cached(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let key = (sql.to_owned(), Vec::new());
        if let Some(statement) = self.statements.get(&key) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        if self.statements.len() >= STATEMENTS_KEPT {
            self.statements.clear();
        }
        self.statements.insert(key, statement.clone());
        Ok(statement)
    }

    /// A transaction (read-only when asked) whose statements come from the cache.
    pub(crate) fn cached_transaction(
        &mut self,
        read_only: bool,
    ) -> Result<Cached<'_>, postgres::Error> {
        let Connection { client, statements } = self;
        let transaction = client.build_transaction().read_only(read_only).start()?;
        Ok(Cached {
            transaction,
            statements,
        })
    }
}

/// A transaction preparing through its connection's cache.
pub(crate) struct Cached<'c> {
    pub(crate) transaction: postgres::Transaction<'c>,
    statements: &'c mut HashMap<Key, Statement>,
}

impl Cached<'_> {
    /// Commits the transaction.
    pub(crate) fn commit(self) -> Result<(), postgres::Error> {
        self.transaction.commit()
    }
}

impl PgClient for Cached<'_> {
    fn prepare_typed(&mut self, sql: &str, types: &[Type]) -> Result<Statement, postgres::Error> {
        let key = (sql.to_owned(), types.to_vec());
        if let Some(statement) = self.statements.get(&key) {
            return Ok(statement.clone());
        }
        let statement = self.transaction.prepare_typed(sql, types)?;
        if self.statements.len() >= STATEMENTS_KEPT {
            self.statements.clear();
        }
        self.statements.insert(key, statement.clone());
        Ok(statement)
    }
    fn execute(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        self.transaction.execute(statement, params)
    }
    fn query(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        self.transaction.query(statement, params)
    }
}

/// Makes the pool's connections.
#[derive(Debug)]
pub struct Manager(pub(crate) PostgresConnectionManager<NoTls>);

impl Manager {
    /// Connections to the database `config` names.
    pub fn new(config: postgres::Config) -> Manager {
        Manager(PostgresConnectionManager::new(config, NoTls))
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut connection.client)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        self.0.has_broken(&mut connection.client)
    }
}

/// Logs a connection the pool could not make with what the server said (r2d2's own
/// handler logs the driver's words alone, "db error", at every try): while the database is
/// down the pool tries several times a second, so at most once per [`LOG_EVERY`], saying
/// how many failures it did not log.
#[derive(Debug, Default)]
struct LogFailures(std::sync::Mutex<Throttle>);

/// How often at most a pool logs that it cannot connect.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl r2d2::HandleError<postgres::Error> for LogFailures {
    fn handle_error(&self, error: postgres::Error) {
        let admitted = self
            .0
            .lock()
            .map(|mut throttle| throttle.admit(std::time::Instant::now(), LOG_EVERY));
        if let Ok(Some(not_logged)) = admitted {
            tracing::warn!(
                error = %crate::error_chain(&error),
                failures_not_logged = not_logged,
                "PostgreSQL: a connection could not be made"
            );
        }
    }
}

/// Lets one occurrence through per period and counts the others.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<std::time::Instant>,
    held: u64,
}

impl Throttle {
    /// Whether an occurrence at `now` is let through, with how many were held back since
    /// the last one that was.
    fn admit(&mut self, now: std::time::Instant, every: std::time::Duration) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < every)
        {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

/// A pool of at most `size` connections to the database `config` names, a caller waiting
/// at most `timeout` for one; connections are tried before each use when
/// `test_on_check_out`. One connection is made first, so a wrong address, database or
/// password fails at once with what the server said, instead of after `timeout`.
pub fn open(
    config: postgres::Config,
    size: u32,
    timeout: std::time::Duration,
    test_on_check_out: bool,
) -> Result<r2d2::Pool<Manager>, postgres::Error> {
    let manager = Manager::new(config);
    drop(r2d2::ManageConnection::connect(&manager)?);
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(timeout)
        .test_on_check_out(test_on_check_out)
        .error_handler(Box::<LogFailures>::default())
        .build_unchecked(manager))
}

#[cfg(test)]
mod tests {
    use super::Throttle;
    use std::time::{Duration, Instant};

    #[test]
    fn a_throttle_lets_one_through_per_period_and_counts_the_rest() {
        let every = Duration::from_secs(30);
        let start = Instant::now();
        let mut throttle = Throttle::default();
        assert_eq!(throttle.admit(start, every), Some(0));
        assert_eq!(throttle.admit(start + Duration::from_secs(1), every), None);
        assert_eq!(throttle.admit(start + Duration::from_secs(29), every), None);
        assert_eq!(
            throttle.admit(start + Duration::from_secs(30), every),
            Some(2)
        );
        assert_eq!(throttle.admit(start + Duration::from_secs(31), every), None);
        assert_eq!(
            throttle.admit(start + Duration::from_secs(61), every),
            Some(1)
        );
    }
}
