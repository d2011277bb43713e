//! A small SQL builder: text plus positional parameters, so filters compose safely.

use crate::db::Value;
use mikawaya_domain::Visibility;

/// SQL text with its parameters.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<Value>,
}

impl Sql {
    /// Keeps rows whose `column` is one of `accounts`.
    pub(crate) fn account_in(&mut self, column: &str, accounts: &[mikawaya_domain::AccountId]) {
        let marks = vec!["?"; accounts.len()].join(", ");
        self.bind(
            &format!(" AND {column} IN ({marks})"),
            accounts.iter().map(|a| Value::Integer(a.get())),
        );
    }

    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends text holding one `?` per value.
    pub(crate) fn bind(
        &mut self,
        text: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> &mut Self {
        self.text.push_str(text);
        self.params.extend(values);
        self
    }

    /// Restricts rows of `accounts` (aliased `alias`) to what the caller may see.
    pub(crate) fn visible(&mut self, alias: &str, visibility: Visibility) -> &mut Self {
        if let Visibility::Partner(partner_id) = visibility {
            self.bind(
                &format!(" AND {alias}.partner_id = ?"),
                [Value::Integer(partner_id.get())],
            );
        }
        self
    }
}

/// A LIKE pattern matching `needle` anywhere, with `%`, `_` and `\` escaped.
pub(crate) fn contains_pattern(needle: &str) -> Value {
    let escaped = needle
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Value::Text(format!("%{escaped}%"))
}

pub(crate) fn text(value: impl ToString) -> Value {
    Value::Text(value.to_string())
}

pub(crate) fn opt_text<T: ToString>(value: Option<T>) -> Value {
    value.map_or(Value::Null, |v| Value::Text(v.to_string()))
}

pub(crate) fn opt_id(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::Integer)
}

/// Keyset pagination over `(expression, id)`: stable under inserts, and an index on the
/// same pair serves each page without an offset scan.
pub(crate) struct Keyset<'a> {
    /// Name of the sort, written into cursors.
    pub(crate) name: String,
    /// The sort expression.
    pub(crate) expression: &'a str,
    /// The tie-breaking id column.
    pub(crate) id_column: &'a str,
    /// Direction.
    pub(crate) descending: bool,
}

impl Keyset<'_> {
    /// Appends the cursor condition, order and limit to `sql` (which ends in a WHERE
    /// clause), runs it and builds the page.
    pub(crate) fn fetch<T>(
        &self,
        db: &crate::db::Db<'_>,
        mut sql: Sql,
        page: &crate::PageRequest,
        from_row: impl FnMut(&crate::db::Row<'_>) -> crate::Result<T>,
        key: impl Fn(&T) -> (serde_json::Value, i64),
    ) -> crate::Result<crate::Page<T>> {
        let (expression, id_column) = (self.expression, self.id_column);
        let (comparison, direction) = if self.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(cursor) = page.cursor_for(&self.name)? {
            let key = match &cursor.key {
                serde_json::Value::Number(n) => n.as_i64().map_or_else(
                    || Value::Real(n.as_f64().unwrap_or_default()),
                    Value::Integer,
                ),
                serde_json::Value::String(s) => Value::Text(s.clone()),
                _ => Value::Null,
            };
            sql.bind(
                &format!(" AND ({expression}, {id_column}) {comparison} (?, ?)"),
                [key, Value::Integer(cursor.id)],
            );
        }
        sql.bind(
            &format!(" ORDER BY {expression} {direction}, {id_column} {direction} LIMIT ?"),
            [Value::Integer(i64::from(page.limit()) + 1)],
        );
        let mut data = db.query_map(&sql.text, &sql.params, from_row)?;
        let limit = page.limit() as usize;
        let next_cursor = if data.len() > limit {
            data.truncate(limit);
            data.last().map(|last| {
                let (key, id) = key(last);
                crate::page::Cursor {
                    sort: self.name.clone(),
                    key,
                    id,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(crate::Page { data, next_cursor })
    }
}
