//! Typed custom fields on accounts: an admin defines a key and its kind, and every value
//! stored under that key is checked against the definition.

use crate::value::{Name, Slug, parse_date};
use crate::{Invalid, wire_enum};
use std::collections::BTreeMap;

wire_enum!(
    /// The kind of values a custom field holds.
    CustomFieldKind, "kind" {
        /// Free text.
        Text = "text",
        /// A number.
        Number = "number",
        /// A calendar date `YYYY-MM-DD`.
        Date = "date",
        /// True or false.
        Bool = "bool" | "boolean",
        /// One of a fixed list of options.
        Enum = "enum",
    }
);

/// The definition of a custom field.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldDef {
    key: Slug,
    label: Name,
    kind: CustomFieldKind,
    options: Vec<String>,
}

impl CustomFieldDef {
    /// Builds a definition; an `enum` needs at least one option, other kinds none.
    pub fn new(
        key: Slug,
        label: Name,
        kind: CustomFieldKind,
        options: Vec<String>,
    ) -> Result<Self, Invalid> {
        let options: Vec<String> = options
            .into_iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        match (kind, options.is_empty()) {
            (CustomFieldKind::Enum, true) => Err(Invalid::new(
                "options",
                "an enum field needs at least one option",
            )),
            (CustomFieldKind::Enum, false) | (_, true) => Ok(Self {
                key,
                label,
                kind,
                options,
            }),
            (_, false) => Err(Invalid::new("options", "only enum fields have options")),
        }
    }

    /// The key under which values are stored.
    pub fn key(&self) -> &Slug {
        &self.key
    }
    /// The label people see.
    pub fn label(&self) -> &Name {
        &self.label
    }
    /// The kind of value.
    pub fn kind(&self) -> CustomFieldKind {
        self.kind
    }
    /// The allowed options of an enum field.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// Checks a JSON value against this definition. Text, dates and enums arrive as
    /// strings; numbers as numbers or numeric strings; booleans as booleans or
    /// `true`/`false`/`yes`/`no`/`1`/`0`.
    pub fn check(&self, value: &serde_json::Value) -> Result<CustomValue, Invalid> {
        let field = format!("custom_fields.{}", self.key);
        let wrong = |expected: &str| {
            Invalid::new(field.clone(), format!("expected {expected}, got {value}"))
        };
        match self.kind {
            CustomFieldKind::Text => match value {
                serde_json::Value::String(text) if text.chars().count() <= 10_000 => {
                    Ok(CustomValue::Text(text.clone()))
                }
                _ => Err(wrong("text up to 10000 characters")),
            },
            CustomFieldKind::Number => {
                let number = match value {
                    serde_json::Value::Number(number) => number.as_f64(),
                    serde_json::Value::String(text) => {
                        text.trim().replace(',', "").parse::<f64>().ok()
                    }
                    _ => None,
                };
                number
                    .filter(|n| n.is_finite())
                    .map(CustomValue::Number)
                    .ok_or_else(|| wrong("a number"))
            }
            CustomFieldKind::Date => match value {
                serde_json::Value::String(text) => parse_date(text, &field).map(CustomValue::Date),
                _ => Err(wrong("a date YYYY-MM-DD")),
            },
            CustomFieldKind::Bool => match value {
                serde_json::Value::Bool(flag) => Ok(CustomValue::Bool(*flag)),
                serde_json::Value::String(text) => match text.trim().to_lowercase().as_str() {
                    "true" | "yes" | "1" => Ok(CustomValue::Bool(true)),
                    "false" | "no" | "0" => Ok(CustomValue::Bool(false)),
                    _ => Err(wrong("true or false")),
                },
                _ => Err(wrong("true or false")),
            },
            CustomFieldKind::Enum => match value {
                serde_json::Value::String(text)
                    if self.options.iter().any(|o| o == text.trim()) =>
                {
                    Ok(CustomValue::Enum(text.trim().to_owned()))
                }
                _ => Err(wrong(&format!("one of: {}", self.options.join(", ")))),
            },
        }
    }
}

/// A checked custom field value.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// Free text.
    Text(String),
    /// A finite number.
    Number(f64),
    /// A date.
    Date(jiff::civil::Date),
    /// A flag.
    Bool(bool),
    /// One of the field's options.
    Enum(String),
}

impl CustomValue {
    /// The value as text (what history records and cohorts are named by).
    pub fn label(&self) -> String {
        match self {
            CustomValue::Text(text) | CustomValue::Enum(text) => text.clone(),
            CustomValue::Number(number) => number.to_string(),
            CustomValue::Date(date) => date.to_string(),
            CustomValue::Bool(flag) => flag.to_string(),
        }
    }

    /// The value as JSON (dates as `YYYY-MM-DD` strings).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CustomValue::Text(text) | CustomValue::Enum(text) => {
                serde_json::Value::String(text.clone())
            }
            CustomValue::Number(number) => serde_json::json!(number),
            CustomValue::Date(date) => serde_json::Value::String(date.to_string()),
            CustomValue::Bool(flag) => serde_json::Value::Bool(*flag),
        }
    }
}

/// Custom values of one account, by key.
pub type CustomValues = BTreeMap<String, CustomValue>;

/// Checks raw values against the definitions; unknown keys are rejected by name.
pub fn check_all(
    definitions: &[CustomFieldDef],
    raw: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, Option<CustomValue>>, Invalid> {
    raw.iter()
        .map(|(key, value)| {
            let definition = definitions
                .iter()
                .find(|d| d.key.as_str() == key)
                .ok_or_else(|| {
                    Invalid::new(
                        format!("custom_fields.{key}"),
                        "no such custom field is defined",
                    )
                })?;
            let checked = if value.is_null() {
                None
            } else {
                Some(definition.check(value)?)
            };
            Ok((key.clone(), checked))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(kind: CustomFieldKind, options: &[&str]) -> CustomFieldDef {
        let built = CustomFieldDef::new(
            Slug::parse("f").unwrap_or_else(|e| panic!("{e}")),
            Name::parse("F").unwrap_or_else(|e| panic!("{e}")),
            kind,
            options.iter().map(|o| (*o).to_owned()).collect(),
        );
        built.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_kind_accepts_its_values_and_names_the_field_otherwise() {
        let cases: Vec<(CustomFieldDef, serde_json::Value, Option<CustomValue>)> = vec![
            (
                def(CustomFieldKind::Number, &[]),
                json!("1,200"),
                Some(CustomValue::Number(1200.0)),
            ),
            (def(CustomFieldKind::Number, &[]), json!("many"), None),
            (
                def(CustomFieldKind::Bool, &[]),
                json!("yes"),
                Some(CustomValue::Bool(true)),
            ),
            (def(CustomFieldKind::Bool, &[]), json!(3), None),
            (
                def(CustomFieldKind::Enum, &["gold", "silver"]),
                json!("gold"),
                Some(CustomValue::Enum("gold".into())),
            ),
            (
                def(CustomFieldKind::Enum, &["gold", "silver"]),
                json!("bronze"),
                None,
            ),
            (
                def(CustomFieldKind::Date, &[]),
                json!("2025/01/31"),
                jiff::civil::Date::new(2025, 1, 31)
                    .ok()
                    .map(CustomValue::Date),
            ),
            (def(CustomFieldKind::Text, &[]), json!(5), None),
        ];
        for (definition, input, expected) in cases {
            match (definition.check(&input), expected) {
                (Ok(value), Some(expected)) => assert_eq!(value, expected),
                (Err(error), None) => assert_eq!(error.field, "custom_fields.f"),
                (got, expected) => panic!("{input}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn enum_fields_need_options() {
        let key = Slug::parse("tier").unwrap_or_else(|e| panic!("{e}"));
        let label = Name::parse("Tier").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            CustomFieldDef::new(key.clone(), label.clone(), CustomFieldKind::Enum, vec![]).is_err()
        );
        assert!(CustomFieldDef::new(key, label, CustomFieldKind::Text, vec!["a".into()]).is_err());
    }
}
