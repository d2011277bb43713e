//! Filters on event properties: "`Report Exported` where `format` = `pdf`". A metric that
//! names one counts (and sums) only the events of that name whose properties match every
//! condition. The rollups keep one extra daily aggregate per filter, so a filtered metric
//! costs what an unfiltered one does; a filter added later is filled in from the raw log.
//!
//! Conditions compare one property (a dotted path reaches into nested objects:
//! `plan.tier`) with a value:
//!
//! | op | true when |
//! |---|---|
//! | `eq` (`=`) | the property equals the value (numbers as numbers, strings exactly, booleans) |
//! | `ne` (`!=`) | it does not (a missing property is not equal to anything) |
//! | `gt` `gte` `lt` `lte` (`>` `>=` `<` `<=`) | the property is a number and compares so |
//! | `exists` | the property is present and not null (no value) |

use mikawaya_domain::Invalid;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal (or missing).
    Ne,
    /// Greater than (numbers).
    Gt,
    /// Greater than or equal (numbers).
    Gte,
    /// Less than (numbers).
    Lt,
    /// Less than or equal (numbers).
    Lte,
    /// Present and not null.
    Exists,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Exists => " exists",
        }
    }
}

/// One condition on a property, as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The property; dots reach into nested objects.
    pub property: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with (none for `exists`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

impl Condition {
    /// Parses the CLI form: `format=pdf`, `rows>=10`, `plan.tier!=free`, `coupon?`
    /// (exists). A value that reads as a JSON number, boolean or quoted string is taken as
    /// that; anything else is a string.
    pub fn parse(text: &str) -> Result<Condition, Invalid> {
        let text = text.trim();
        if let Some(property) = text.strip_suffix('?') {
            return Self::checked(property, Op::Exists, Value::Null);
        }
        let ops = [
            ("!=", Op::Ne),
            (">=", Op::Gte),
            ("<=", Op::Lte),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let found = ops
            .iter()
            .filter_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)))
            .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())));
        let Some((at, symbol, op)) = found else {
            return Err(Invalid::new(
                "where",
                format!(
                    "'{text}' is not a condition: write property=value, !=, >, >=, <, <= or property? (exists)"
                ),
            ));
        };
        let raw = text[at + symbol.len()..].trim();
        let value = serde_json::from_str::<Value>(raw)
            .ok()
            .filter(|v| v.is_number() || v.is_boolean() || v.is_string())
            .unwrap_or_else(|| Value::String(raw.to_owned()));
        Self::checked(&text[..at], op, value)
    }

    fn checked(property: &str, op: Op, value: Value) -> Result<Condition, Invalid> {
        Condition {
            property: property.trim().to_owned(),
            op,
            value,
        }
        .check()
    }

    /// Checks a condition: a property named, a value of the right kind for the op.
    pub fn check(self) -> Result<Condition, Invalid> {
        if self.property.is_empty() || self.property.split('.').any(str::is_empty) {
            return Err(Invalid::new("where.property", "name a property"));
        }
        let fits = match self.op {
            Op::Exists => self.value.is_null(),
            Op::Eq | Op::Ne => {
                self.value.is_number() || self.value.is_string() || self.value.is_boolean()
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => self.value.is_number(),
        };
        if !fits {
            let wanted = match self.op {
                Op::Exists => "no value",
                Op::Eq | Op::Ne => "a string, number or boolean",
                _ => "a number",
            };
            return Err(Invalid::new(
                "where.value",
                format!("'{}' needs {wanted}", self.op.symbol().trim()),
            ));
        }
        Ok(self)
    }

    fn holds(&self, properties: &Value) -> bool {
        let found = self
            .property
            .split('.')
            .try_fold(properties, |value, part| value.get(part))
            .filter(|v| !v.is_null());
        let number = |v: &Value| v.as_f64();
        match (self.op, found) {
            (Op::Exists, found) => found.is_some(),
            (Op::Ne, None) => true,
            (_, None) => false,
            (Op::Eq, Some(v)) => equal(v, &self.value),
            (Op::Ne, Some(v)) => !equal(v, &self.value),
            (op, Some(v)) => match (number(v), number(&self.value)) {
                (Some(a), Some(b)) => match op {
                    Op::Gt => a > b,
                    Op::Gte => a >= b,
                    Op::Lt => a < b,
                    _ => a <= b,
                },
                _ => false,
            },
        }
    }

    fn text(&self) -> String {
        match self.op {
            Op::Exists => format!("{} exists", self.property),
            op => format!("{} {} {}", self.property, op.symbol(), self.value),
        }
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Events of one name whose properties meet every condition.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    event: String,
    conditions: Vec<Condition>,
    key: String,
}

impl EventFilter {
    /// A filter on `event`; the conditions are checked and kept in a canonical order, so
    /// two metrics with the same conditions share one aggregate.
    pub fn new(event: &str, conditions: Vec<Condition>) -> Result<EventFilter, Invalid> {
        let event = event.trim();
        if event.is_empty() || event == "*" {
            return Err(Invalid::new(
                "event",
                "a filter on properties needs one event name",
            ));
        }
        if conditions.is_empty() {
            return Err(Invalid::new(
                "where",
                "a filter needs at least one condition",
            ));
        }
        let mut conditions = conditions
            .into_iter()
            .map(Condition::check)
            .collect::<Result<Vec<_>, _>>()?;
        conditions.sort_by_key(Condition::text);
        conditions.dedup();
        let key = format!(
            "{event} where {}",
            conditions
                .iter()
                .map(Condition::text)
                .collect::<Vec<_>>()
                .join(" and ")
        );
        Ok(EventFilter {
            event: event.to_owned(),
            conditions,
            key,
        })
    }

    /// The event name filtered.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The conditions, in canonical order.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The name the filtered aggregate goes by in the rollups, e.g.
    /// `Report Exported where format = "pdf"`. Usage reads take it as an event name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether an event's raw properties meet every condition.
    pub fn matches(&self, properties: Option<&RawValue>) -> bool {
        let parsed = properties
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .unwrap_or(Value::Null);
        self.matches_value(&parsed)
    }

    /// Whether parsed properties meet every condition.
    pub fn matches_value(&self, properties: &Value) -> bool {
        self.conditions.iter().all(|c| c.holds(properties))
    }

    /// The filters a stored metric definition (JSON) names, at any depth: every object with
    /// an `event` and a non-empty `where` list. Unreadable parts are skipped (the metric's
    /// own check reports them).
    pub fn in_metric_spec(spec: &Value) -> Vec<EventFilter> {
        let mut found = Vec::new();
        collect(spec, &mut found);
        found
    }
}

fn collect(value: &Value, found: &mut Vec<EventFilter>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(event)), Some(conditions)) =
                (map.get("event"), map.get("where"))
                && let Ok(conditions) = serde_json::from_value::<Vec<Condition>>(conditions.clone())
                && let Ok(filter) = EventFilter::new(event, conditions)
                && !found.contains(&filter)
            {
                found.push(filter);
            }
            map.values().for_each(|v| collect(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(event: &str, conditions: &[&str]) -> EventFilter {
        let conditions = conditions
            .iter()
            .map(|c| Condition::parse(c).unwrap_or_else(|e| panic!("{c}: {e}")))
            .collect();
        EventFilter::new(event, conditions).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_the_cli_form() {
        let c = Condition::parse("rows>=10").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.property.as_str(), c.op, c.value),
            ("rows", Op::Gte, json!(10))
        );
        let c = Condition::parse("plan.tier != free").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.property.as_str(), c.op, c.value),
            ("plan.tier", Op::Ne, json!("free"))
        );
        let c = Condition::parse("code=\"10\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.value, json!("10"));
        assert_eq!(Condition::parse("coupon?").map(|c| c.op), Ok(Op::Exists));
        assert_eq!(
            Condition::parse("rows>many").map_err(|e| e.field),
            Err("where.value".to_owned())
        );
        assert_eq!(
            Condition::parse("rows").map_err(|e| e.field),
            Err("where".to_owned())
        );
        assert_eq!(
            Condition::parse("=3").map_err(|e| e.field),
            Err("where.property".to_owned())
        );
    }

    #[test]
    fn conditions_match_as_documented() {
        let pdf = filter("Report Exported", &["format=pdf", "pages>=2"]);
        assert!(pdf.matches_value(&json!({"format":"pdf","pages":2})));
        assert!(!pdf.matches_value(&json!({"format":"pdf","pages":1})));
        assert!(!pdf.matches_value(&json!({"format":"csv","pages":5})));
        assert!(!pdf.matches_value(&json!({"format":"pdf","pages":"5"})));
        assert!(!pdf.matches_value(&Value::Null));
        let not_free = filter("Login", &["plan.tier!=free"]);
        assert!(not_free.matches_value(&json!({"plan":{"tier":"pro"}})));
        assert!(not_free.matches_value(&json!({})));
        assert!(!not_free.matches_value(&json!({"plan":{"tier":"free"}})));
        let number = filter("Seat Added", &["count=1"]);
        assert!(number.matches_value(&json!({"count":1.0})));
        let exists = filter("Checkout", &["coupon?"]);
        assert!(exists.matches_value(&json!({"coupon":"X"})));
        assert!(!exists.matches_value(&json!({"coupon":null})));
    }

    #[test]
    fn keys_are_canonical() {
        let a = filter("E", &["b=1", "a=x"]);
        let b = filter("E", &["a=x", "b=1", "a=x"]);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "E where a = \"x\" and b = 1");
        assert!(EventFilter::new("*", a.conditions().to_vec()).is_err());
        assert!(EventFilter::new("E", Vec::new()).is_err());
    }

    #[test]
    fn finds_filters_in_stored_specs() {
        let spec = json!({"name":"pdf-share","kind":"ratio",
            "numerator":{"name":"pdf","kind":"count","event":"Report Exported","where":[{"property":"format","op":"eq","value":"pdf"}]},
            "denominator":{"name":"all","kind":"count","event":"Report Exported"}});
        let found = EventFilter::in_metric_spec(&spec);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key(), "Report Exported where format = \"pdf\"");
    }
}
