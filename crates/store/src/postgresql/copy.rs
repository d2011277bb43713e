//! Moving up: a SQLite store copied into an empty PostgreSQL database (`mikawaya migrate`),
//! table by table in one transaction, then compared table by table (rows and a checksum
//! of their values, whatever their order).
//!
//! - The tables and their columns are the PostgreSQL schema's (the same migrations as the
//!   SQLite file, which is migrated first); a SQLite-only table (`audit_context`) stays.
//! - Rows are copied as they are, ids included, with the tables' own triggers off (they
//!   would write audit rows and signals a second time); then each identity column's
//!   sequence continues after the highest id.
//! - Tables go in the order of their references; a reference to a row copied later (a
//!   parent account, the survey answer of a send) is written in a second pass.

use super::PostgresStore;
use crate::db::Value;
use crate::{Result, StoreError};
use postgres::types::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What was copied of one table, and how it compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// The table.
    pub table: String,
    /// Rows in the SQLite store.
    pub rows: u64,
    /// Rows in PostgreSQL after the copy.
    pub copied: u64,
    /// SHA-256 of the SQLite rows' values (each row hashed, the hashes sorted).
    pub checksum: String,
    /// The same of the PostgreSQL rows.
    pub copied_checksum: String,
}

impl TableCopy {
    /// Whether both sides hold the same rows.
    pub fn matches(&self) -> bool {
        self.rows == self.copied && self.checksum == self.copied_checksum
    }
}

/// References written after every table: the table, the column, and per row its id and
/// the value.
type SecondPass = (String, String, Vec<(i64, Value)>);

/// Tables the migrations fill or that are not the store's to copy.
const NOT_COPIED: &[&str] = &["schema_migrations", "usage_sequence"];

/// Counters the migrations seed with their one row (`id = 1`): copied by setting it.
const SEEDED: &[&str] = &["history_stamp", "book_stamp"];

/// Rows inserted per statement.
const ROWS_PER_INSERT: usize = 200;

struct Table {
    name: String,
    columns: Vec<(String, Type)>,
    /// Columns written in a second pass (references to rows copied later).
    later: Vec<String>,
    /// An identity column (`id`).
    identity: bool,
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>, table: &str) -> Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => {
            return Err(StoreError::Corrupt(format!(
                "{table}: a binary value, which no column of the store holds"
            )));
        }
    })
}

/// A value's canonical form for the checksum, by the PostgreSQL column's type.
fn canonical(value: &Value, kind: &Type) -> String {
    match value {
        Value::Null => "∅".to_owned(),
        Value::Integer(i) if *kind == Type::FLOAT8 => format!("r{:?}", *i as f64),
        Value::Integer(i) => format!("i{i}"),
        Value::Real(r) if *kind == Type::INT8 || *kind == Type::INT4 => format!("i{}", *r as i64),
        Value::Real(r) => format!("r{r:?}"),
        Value::Text(t) => format!("t{t}"),
    }
}

fn row_hash(values: &[Value], columns: &[(String, Type)]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for (value, (_, kind)) in values.iter().zip(columns) {
        hasher.update(canonical(value, kind).as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

fn checksum(mut hashes: Vec<[u8; 32]>) -> String {
    use sha2::Digest;
    hashes.sort_unstable();
    let mut hasher = sha2::Sha256::new();
    for hash in &hashes {
        hasher.update(hash);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn pg_value(row: &postgres::Row, index: usize, kind: &Type) -> Result<Value> {
    Ok(if *kind == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)?
            .map_or(Value::Null, Value::Integer)
    } else if *kind == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)?
            .map_or(Value::Null, |v| Value::Integer(i64::from(v)))
    } else if *kind == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(index)?
            .map_or(Value::Null, Value::Real)
    } else if *kind == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)?
            .map_or(Value::Null, |v| Value::Integer(i64::from(v)))
    } else {
        row.try_get::<_, Option<String>>(index)?
            .map_or(Value::Null, Value::Text)
    })
}

impl PostgresStore {
    /// Copies the SQLite store in `sqlite_file` (at this build's schema) into this
    /// database, which must hold no data, and compares every table; `progress` hears of
    /// each table copied. One transaction: all of it or nothing.
    pub fn copy_from_sqlite(
        &self,
        sqlite_file: &Path,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<Vec<TableCopy>> {
        let source = rusqlite::Connection::open_with_flags(
            sqlite_file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut client = self.connection()?;
        let mut transaction = client.transaction()?;
        let tables = tables(&mut transaction)?;
        for table in &tables {
            let rows: i64 = transaction
                .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?
                .get(0);
            let seeded = SEEDED.contains(&table.name.as_str());
            if rows > 0 && !seeded {
                return Err(StoreError::Conflict {
                    field: "database_url".into(),
                    reason: format!(
                        "the database is not empty ({} has {rows} rows): migrate into a new one",
                        table.name
                    ),
                });
            }
        }
        for table in &tables {
            transaction
                .batch_execute(&format!("ALTER TABLE {} DISABLE TRIGGER USER", table.name))?;
        }
        let mut reports = Vec::new();
        let mut second_pass: Vec<SecondPass> = Vec::new();
        for table in &tables {
            let names: Vec<&str> = table
                .columns
                .iter()
                .map(|(name, _)| name.as_str())
                .collect();
            let select = format!("SELECT {} FROM {}", names.join(", "), table.name);
            let mut statement = source.prepare(&select).map_err(|error| {
                StoreError::Corrupt(format!("{}: not as in PostgreSQL ({error})", table.name))
            })?;
            let mut rows = statement.query([])?;
            let mut hashes = Vec::new();
            let mut pending: Vec<Vec<Value>> = Vec::new();
            let later: Vec<usize> = table
                .later
                .iter()
                .filter_map(|column| names.iter().position(|name| name == column))
                .collect();
            let id_index = names.iter().position(|name| *name == "id");
            let mut deferred: BTreeMap<usize, Vec<(i64, Value)>> = BTreeMap::new();
            if SEEDED.contains(&table.name.as_str()) {
                // Every column of the one row but its id (all counters).
                if let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(names.len());
                    let mut set = Vec::new();
                    let mut counters: Vec<i64> = Vec::new();
                    for (index, name) in names.iter().enumerate() {
                        let value = sqlite_value(row.get_ref(index)?, &table.name)?;
                        if *name != "id" {
                            let Value::Integer(counter) = value else {
                                return Err(StoreError::Corrupt(format!(
                                    "{}.{name}: not a count",
                                    table.name
                                )));
                            };
                            counters.push(counter);
                            set.push(format!("{name} = ${}", counters.len()));
                        }
                        values.push(value);
                    }
                    let params: Vec<&(dyn postgres::types::ToSql + Sync)> = counters
                        .iter()
                        .map(|c| c as &(dyn postgres::types::ToSql + Sync))
                        .collect();
                    transaction.execute(
                        &format!("UPDATE {} SET {} WHERE id = 1", table.name, set.join(", ")),
                        &params,
                    )?;
                    hashes.push(row_hash(&values, &table.columns));
                }
            } else {
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(names.len());
                    for index in 0..names.len() {
                        values.push(sqlite_value(row.get_ref(index)?, &table.name)?);
                    }
                    hashes.push(row_hash(&values, &table.columns));
                    for index in &later {
                        if values[*index] != Value::Null
                            && let Some(Value::Integer(id)) = id_index.map(|i| values[i].clone())
                        {
                            let value = std::mem::replace(&mut values[*index], Value::Null);
                            deferred.entry(*index).or_default().push((id, value));
                        }
                    }
                    pending.push(values);
                    if pending.len() == ROWS_PER_INSERT {
                        insert(&mut transaction, table, &std::mem::take(&mut pending))?;
                    }
                }
                if !pending.is_empty() {
                    insert(&mut transaction, table, &pending)?;
                }
            }
            for (index, values) in deferred {
                second_pass.push((table.name.clone(), names[index].to_owned(), values));
            }
            progress(&table.name, hashes.len() as u64);
            reports.push(TableCopy {
                table: table.name.clone(),
                rows: hashes.len() as u64,
                copied: 0,
                checksum: checksum(hashes),
                copied_checksum: String::new(),
            });
        }
        for (table, column, values) in second_pass {
            let statement = transaction.prepare_typed(
                &format!("UPDATE {table} SET {column} = $2 WHERE id = $1"),
                &[Type::INT8, Type::INT8],
            )?;
            for (id, value) in values {
                let Value::Integer(reference) = value else {
                    continue;
                };
                transaction.execute(&statement, &[&id, &reference])?;
            }
        }
        for table in &tables {
            transaction
                .batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER USER", table.name))?;
            if table.identity {
                transaction.batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                     COALESCE((SELECT max(id) FROM {0}), 0) + 1, false)",
                    table.name
                ))?;
            }
        }
        // Compared inside the transaction: what commits is what was compared.
        for (table, report) in tables.iter().zip(&mut reports) {
            let names: Vec<&str> = table
                .columns
                .iter()
                .map(|(name, _)| name.as_str())
                .collect();
            let rows = transaction.query(
                &format!("SELECT {} FROM {}", names.join(", "), table.name),
                &[],
            )?;
            let mut hashes = Vec::with_capacity(rows.len());
            for row in &rows {
                let values = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(index, (_, kind))| pg_value(row, index, kind))
                    .collect::<Result<Vec<_>>>()?;
                hashes.push(row_hash(&values, &table.columns));
            }
            report.copied = hashes.len() as u64;
            report.copied_checksum = checksum(hashes);
        }
        if let Some(different) = reports.iter().find(|report| !report.matches()) {
            return Err(StoreError::Corrupt(format!(
                "{}: {} rows copied as {} with another checksum; nothing was kept",
                different.table, different.rows, different.copied
            )));
        }
        transaction.commit()?;
        Ok(reports)
    }
}

/// The store's tables in the order of their references, with their columns.
fn tables(transaction: &mut postgres::Transaction<'_>) -> Result<Vec<Table>> {
    let names: BTreeSet<String> = transaction
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
            &[],
        )?
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|name| {
            !NOT_COPIED.contains(&name.as_str())
                && !name.starts_with("usage_")
                && name != "rollup_snapshots"
        })
        .collect();
    let references: Vec<(String, String, String)> = transaction
        .query(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, a.attname \
             FROM pg_constraint c JOIN pg_attribute a \
               ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f'",
            &[],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    // Depth-first, references first; a reference back into the path (a cycle, or a table
    // to itself) is written in the second pass.
    let mut order: Vec<String> = Vec::new();
    let mut later: BTreeMap<String, Vec<String>> = BTreeMap::new();
    fn visit(
        name: &str,
        references: &[(String, String, String)],
        path: &mut Vec<String>,
        order: &mut Vec<String>,
        later: &mut BTreeMap<String, Vec<String>>,
    ) {
        if order.iter().any(|done| done == name) {
            return;
        }
        path.push(name.to_owned());
        for (from, to, column) in references.iter().filter(|(from, _, _)| from == name) {
            if path.iter().any(|on| on == to) {
                later.entry(from.clone()).or_default().push(column.clone());
            } else {
                visit(to, references, path, order, later);
            }
        }
        path.pop();
        order.push(name.to_owned());
    }
    for name in &names {
        visit(name, &references, &mut Vec::new(), &mut order, &mut later);
    }
    let mut tables = Vec::new();
    for name in order.into_iter().filter(|name| names.contains(name)) {
        let columns = transaction
            .query(
                "SELECT a.attname, a.atttypid, a.attidentity <> '' FROM pg_attribute a \
                 WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                &[&name],
            )?
            .iter()
            .map(|row| {
                let oid: u32 = row.get(1);
                (
                    row.get::<_, String>(0),
                    Type::from_oid(oid).unwrap_or(Type::TEXT),
                    row.get::<_, bool>(2),
                )
            })
            .collect::<Vec<_>>();
        tables.push(Table {
            later: later.remove(&name).unwrap_or_default(),
            identity: columns.iter().any(|(_, _, identity)| *identity),
            columns: columns
                .into_iter()
                .map(|(column, kind, _)| (column, kind))
                .collect(),
            name,
        });
    }
    Ok(tables)
}

/// Inserts rows into a table (values in its columns' order).
fn insert(
    transaction: &mut postgres::Transaction<'_>,
    table: &Table,
    rows: &[Vec<Value>],
) -> Result<()> {
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|row| {
            let marks: Vec<String> = (1..=width)
                .map(|c| format!("${}", row * width + c))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES {}",
        table.name,
        table
            .columns
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        tuples.join(", ")
    );
    let types: Vec<Type> = rows
        .iter()
        .flat_map(|_| table.columns.iter().map(|(_, kind)| kind.clone()))
        .collect();
    let statement = transaction.prepare_typed(&sql, &types)?;
    let params: Vec<&(dyn postgres::types::ToSql + Sync)> = rows
        .iter()
        .flatten()
        .map(|value| value as &(dyn postgres::types::ToSql + Sync))
        .collect();
    transaction
        .execute(&statement, &params)
        .map_err(|error| StoreError::Corrupt(format!("copying {}: {error:?}", table.name)))?;
    Ok(())
}
