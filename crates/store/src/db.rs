//! One connection interface over both engines (ADR 0005): the store's modules run the same
//! SQL (the common subset of SQLite and PostgreSQL, with `?N` placeholders) through a
//! [`Db`] and read columns through a [`Row`], whichever engine holds the data.
//!
//! The modules move onto it one at a time; `sqlite::config` is the first.

use crate::{Result, StoreError};
use mikawaya_domain::Invalid;
use std::cell::RefCell;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Real(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Integer(i64::from(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Integer(i64::from(value))
    }
}

impl<T: Clone + Into<Value>> From<&T> for Value {
    fn from(value: &T) -> Self {
        value.clone().into()
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(value) => ValueRef::Integer(*value),
            Value::Real(value) => ValueRef::Real(*value),
            Value::Text(value) => ValueRef::Text(value.as_bytes()),
        }))
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Integer(value) if *ty == Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
            Value::Integer(value) if *ty == Type::INT2 => i16::try_from(*value)?.to_sql(ty, out),
            Value::Integer(value) if *ty == Type::BOOL => (*value != 0).to_sql(ty, out),
            // An integer bound where PostgreSQL expects a real (`mrr = ?1` with 0).
            Value::Integer(value) if *ty == Type::FLOAT8 => (*value as f64).to_sql(ty, out),
            // A number kept in a text column (SQLite's columns take any type).
            Value::Integer(value) if *ty == Type::TEXT => value.to_string().to_sql(ty, out),
            Value::Real(value) if *ty == Type::TEXT => value.to_string().to_sql(ty, out),
            Value::Real(value) if *ty == Type::INT8 => (*value as i64).to_sql(ty, out),
            Value::Text(value) if *ty == Type::INT8 => value.trim().parse::<i64>()?.to_sql(ty, out),
            Value::Text(value) if *ty == Type::FLOAT8 => {
                value.trim().parse::<f64>()?.to_sql(ty, out)
            }
            Value::Integer(value) => value.to_sql(ty, out),
            Value::Real(value) => value.to_sql(ty, out),
            Value::Text(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Rows per statement of [`Db::insert_rows`] (PostgreSQL takes at most 65,535
/// parameters in a statement, SQLite 32,766).
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// A connection (or transaction) of either engine.
pub(crate) enum Db<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(RefCell<&'c mut (dyn PgClient + 'c)>),
}

type PgParams<'p> = [&'p (dyn postgres::types::ToSql + Sync)];

/// What [`Db`] needs of a PostgreSQL transaction.
pub(crate) trait PgClient {
    fn prepare_typed(
        &mut self,
        sql: &str,
        types: &[postgres::types::Type],
    ) -> Result<postgres::Statement, postgres::Error>;
    fn execute(
        &mut self,
        statement: &postgres::Statement,
        params: &PgParams<'_>,
    ) -> Result<u64, postgres::Error>;
    fn query(
        &mut self,
        statement: &postgres::Statement,
        params: &PgParams<'_>,
    ) -> Result<Vec<postgres::Row>, postgres::Error>;
}

impl PgClient for postgres::Transaction<'_> {
    fn prepare_typed(
        &mut self,
        sql: &str,
        types: &[postgres::types::Type],
    ) -> Result<postgres::Statement, postgres::Error> {
        postgres::Transaction::prepare_typed(self, sql, types)
    }
    fn execute(
        &mut self,
        statement: &postgres::Statement,
        params: &PgParams<'_>,
    ) -> Result<u64, postgres::Error> {
        postgres::Transaction::execute(self, statement, params)
    }
    fn query(
        &mut self,
        statement: &postgres::Statement,
        params: &PgParams<'_>,
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        postgres::Transaction::query(self, statement, params)
    }
}

/// The statement of `sql` on PostgreSQL, its parameters typed by the values bound (an
/// integer is BIGINT, a real DOUBLE PRECISION, text TEXT; a null is left to PostgreSQL to
/// infer), so a parameter PostgreSQL cannot type from its context alone still works.
fn pg_prepare(
    client: &mut (dyn PgClient + '_),
    sql: &str,
    params: &[Value],
) -> Result<postgres::Statement> {
    use postgres::types::Type;
    let sql = numbered(sql);
    let mut types = vec![Type::UNKNOWN; params.len()];
    for (kind, value) in types.iter_mut().zip(params) {
        *kind = match value {
            Value::Null => Type::UNKNOWN,
            Value::Integer(_) => Type::INT8,
            Value::Real(_) => Type::FLOAT8,
            Value::Text(_) => Type::TEXT,
        };
    }
    Ok(client.prepare_typed(&sql, &types)?)
}

impl Db<'_> {
    /// Whether this is PostgreSQL (for the few statements whose SQL differs by engine).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// The case-insensitive LIKE of the engine (SQLite's LIKE ignores ASCII case).
    pub fn ilike(&self) -> &'static str {
        if self.is_postgres() { "ILIKE" } else { "LIKE" }
    }

    /// Inserts `rows` (each `row_width` values, in the order of `columns`) into `table`
    /// with multi-row `INSERT`s of up to [`ROWS_PER_INSERT`] rows: a round trip per few
    /// hundred rows on PostgreSQL instead of one per row.
    pub fn insert_rows(
        &self,
        table: &str,
        columns: &str,
        row_width: usize,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<()> {
        self.upsert_rows(table, columns, row_width, rows, "")
    }

    /// As [`Db::insert_rows`], each statement ending with `on_conflict` (an `ON CONFLICT …`
    /// clause, or nothing). A multi-row upsert must not name one row twice (PostgreSQL
    /// refuses to update a row twice in one statement): the caller keeps keys distinct.
    pub fn upsert_rows(
        &self,
        table: &str,
        columns: &str,
        row_width: usize,
        rows: impl IntoIterator<Item = Vec<Value>>,
        on_conflict: &str,
    ) -> Result<()> {
        let one = format!("({})", vec!["?"; row_width].join(", "));
        let mut params: Vec<Value> = Vec::with_capacity(ROWS_PER_INSERT * row_width);
        let flush = |params: &mut Vec<Value>| -> Result<()> {
            let count = params.len() / row_width.max(1);
            if count == 0 {
                return Ok(());
            }
            let statement = format!(
                "INSERT INTO {table} ({columns}) VALUES {} {on_conflict}",
                vec![one.as_str(); count].join(", ")
            );
            self.execute(&statement, params)?;
            params.clear();
            Ok(())
        };
        for row in rows {
            debug_assert_eq!(row.len(), row_width);
            params.extend(row);
            if params.len() >= ROWS_PER_INSERT * row_width {
                flush(&mut params)?;
            }
        }
        flush(&mut params)
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Db::Sqlite(connection) => {
                let changed = connection
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params))?;
                Ok(changed as u64)
            }
            Db::Postgres(transaction) => {
                let mut client = transaction.borrow_mut();
                let statement = pg_prepare(*client, sql, params)?;
                Ok(client.execute(&statement, &references(params))?)
            }
        }
    }

    /// The first row of a query, read by `read`; none when there is no row.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                match rows.next()? {
                    Some(row) => read(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Postgres(transaction) => {
                let mut client = transaction.borrow_mut();
                let statement = pg_prepare(*client, sql, params)?;
                let rows = client.query(&statement, &references(params))?;
                rows.first()
                    .map(|row| read(&Row::Postgres(row)))
                    .transpose()
            }
        }
    }

    /// The one row a query always returns (an aggregate), read by `read`.
    pub fn query_one<T>(
        &self,
        sql: &str,
        params: &[Value],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, read)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from: {sql}")))
    }

    /// Every row of a query, each read by `read`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                let mut read_rows = Vec::new();
                while let Some(row) = rows.next()? {
                    read_rows.push(read(&Row::Sqlite(row))?);
                }
                Ok(read_rows)
            }
            Db::Postgres(transaction) => {
                let mut client = transaction.borrow_mut();
                let statement = pg_prepare(*client, sql, params)?;
                client
                    .query(&statement, &references(params))?
                    .iter()
                    .map(|row| read(&Row::Postgres(row)))
                    .collect()
            }
        }
    }
}

fn references(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|value| value as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// SQLite's `?N` and `?` placeholders as PostgreSQL's `$N` (text in quotes left alone).
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let (mut quoted, mut next) = (false, 1u32);
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let number = digits.parse().unwrap_or(next);
                next = number + 1;
                out.push('$');
                out.push_str(&number.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A row of either engine.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `index` as `T`.
    pub fn get<T: Column>(&self, index: usize) -> Result<T> {
        match self {
            Row::Sqlite(row) => Ok(T::sqlite(row, index)?),
            Row::Postgres(row) => T::postgres(row, index),
        }
    }

    /// A required text column parsed with `parse`; a value that does not parse is corrupt.
    pub fn parsed<T>(&self, index: usize, parse: impl Fn(&str) -> Result<T, Invalid>) -> Result<T> {
        let raw: String = self.get(index)?;
        parse(&raw).map_err(|invalid| corrupt(index, &invalid))
    }

    /// An optional text column parsed with `parse`.
    pub fn parsed_opt<T>(
        &self,
        index: usize,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Result<Option<T>> {
        let raw: Option<String> = self.get(index)?;
        raw.map(|raw| parse(&raw).map_err(|invalid| corrupt(index, &invalid)))
            .transpose()
    }
}

fn corrupt(index: usize, invalid: &Invalid) -> StoreError {
    StoreError::Corrupt(format!("column {index}: {invalid}"))
}

/// A column type both engines read (integers are BIGINT, reals DOUBLE PRECISION and
/// flags 0 or 1 in both schemas).
pub(crate) trait Column: Sized {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self>;
}

macro_rules! same_in_both {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }
            fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
                Ok(row.try_get(index)?)
            }
        }
    )*};
}

same_in_both!(f64, Option<f64>, String, Option<String>);

impl Column for Option<u32> {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        pg_integer(row, index)?
            .map(|value| {
                u32::try_from(value).map_err(|_| {
                    StoreError::Corrupt(format!("column {index}: {value} is out of range"))
                })
            })
            .transpose()
    }
}

impl Column for Option<bool> {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        Ok(pg_integer(row, index)?.map(|value| value != 0))
    }
}

/// An integer column of PostgreSQL whatever its width: the schema's columns are BIGINT,
/// but a literal (`SELECT 1`) is INTEGER and a condition BOOLEAN.
fn pg_integer(row: &postgres::Row, index: usize) -> Result<Option<i64>> {
    use postgres::types::Type;
    let kind = row
        .columns()
        .get(index)
        .map(|column| column.type_().clone());
    Ok(match kind {
        Some(kind) if kind == Type::INT4 => row.try_get::<_, Option<i32>>(index)?.map(i64::from),
        Some(kind) if kind == Type::INT2 => row.try_get::<_, Option<i16>>(index)?.map(i64::from),
        // A condition (`EXISTS (…)`, `a = b`) is a boolean; SQLite's is 0 or 1.
        Some(kind) if kind == Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(i64::from),
        _ => row.try_get::<_, Option<i64>>(index)?,
    })
}

fn pg_required(row: &postgres::Row, index: usize) -> Result<i64> {
    pg_integer(row, index)?
        .ok_or_else(|| StoreError::Corrupt(format!("column {index}: null where a number is kept")))
}

impl Column for i64 {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        pg_required(row, index)
    }
}

impl Column for Option<i64> {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        pg_integer(row, index)
    }
}

impl Column for bool {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        Ok(pg_required(row, index)? != 0)
    }
}

impl Column for u32 {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &postgres::Row, index: usize) -> Result<Self> {
        let value = pg_required(row, index)?;
        u32::try_from(value)
            .map_err(|_| StoreError::Corrupt(format!("column {index}: {value} is out of range")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgresql_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE k = ?1 AND v > ?2 OR w = ?1"),
            "SELECT a FROM t WHERE k = $1 AND v > $2 OR w = $1"
        );
        assert_eq!(
            numbered("INSERT INTO t (a, b) VALUES (?, ?)"),
            "INSERT INTO t (a, b) VALUES ($1, $2)"
        );
        assert_eq!(
            numbered("SELECT '?1 stays', x FROM t WHERE y = ?3"),
            "SELECT '?1 stays', x FROM t WHERE y = $3"
        );
        assert_eq!(numbered("?10, ?"), "$10, $11");
    }
}
