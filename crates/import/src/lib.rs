//! CSV import: the "data in" edge for customer data exported from CRMs and spreadsheets.
//!
//! A file is decoded (UTF-8, UTF-8 with BOM, or Shift_JIS as Japanese Excel writes it),
//! its header mapped to canonical columns (explicit `SRC=DST` mappings first, then known
//! CRM export headers in English and Japanese), and every row parsed into domain values.
//! Every bad cell is reported with its line and column; the store then loads the whole file
//! in one transaction. This crate does no database IO itself.

mod columns;
mod decode;

pub use columns::{ImportKind, canonical_columns};
pub use decode::{Decoded, SourceEncoding, decode};
pub mod feedback;

use columns::{ValueMapping, resolve_header};
use jiff::civil::Date;
use mikawaya_domain::Invalid;
use mikawaya_domain::Patch;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::contact::{ContactRole, Influence, Sentiment};
use mikawaya_domain::touchpoint::TouchpointKind;
use mikawaya_domain::user::UserRef;
use mikawaya_domain::value::{
    Currency, Email, ExternalId, Money, Name, Slug, Text, parse_date, parse_timestamp,
};
use mikawaya_store::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, PlanRef, RowError,
    SubscriptionRecord, TouchpointRecord,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Errors of the import crate. All are the user's to fix; nothing has been written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header is missing a required column, names one twice, or a mapping is bad.
    #[error("header: {0}")]
    Header(String),
    /// The bytes are neither UTF-8 nor Shift_JIS.
    #[error("the file is neither UTF-8 nor Shift_JIS text")]
    Encoding,
    /// Rows with bad values (every one of them is listed).
    #[error("{} rows have errors", .0.len())]
    Rows(Vec<RowError>),
}

/// Line numbers of a file's records, counted from each record's first byte: the csv
/// crate's own count is one short on CRLF files (the usual format of Excel and CRM exports).
pub(crate) struct Lines<'t> {
    text: &'t [u8],
    counted_to: usize,
    newlines: u64,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t [u8]) -> Self {
        Lines {
            text,
            counted_to: 0,
            newlines: 0,
        }
    }

    /// The 1-based line of the record starting at `byte` (records are asked in order).
    pub(crate) fn at(&mut self, byte: u64) -> u64 {
        let text = self.text;
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        // A record's reported start can be the previous record's line break.
        while byte < text.len() && (text[byte] == b'\n' || text[byte] == b'\r') {
            byte += 1;
        }
        if byte > self.counted_to {
            self.newlines += text[self.counted_to..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.counted_to = byte;
        }
        self.newlines + 1
    }
}

/// A CSV reader over decoded text (rows may have more or fewer cells than the header) and
/// the header row.
pub(crate) fn open_csv(text: &str) -> Result<(csv::Reader<&[u8]>, csv::StringRecord), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::Header(e.to_string()))?
        .clone();
    Ok((reader, header))
}

/// Reads every record of a file after its header, calling `row` with its line for each
/// that is neither empty nor has more cells than the header has columns (refused unless the
/// extra ones are empty: spreadsheets add trailing separators); an unreadable record ends
/// the file. Problems go to `errors`.
pub(crate) fn each_record(
    reader: &mut csv::Reader<&[u8]>,
    text: &[u8],
    columns: usize,
    errors: &mut Vec<RowError>,
    mut row: impl FnMut(u64, &csv::StringRecord, &mut Vec<RowError>),
) {
    let mut lines = Lines::new(text);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                errors.push(RowError {
                    line: error.position().map_or(0, |p| lines.at(p.byte())),
                    column: String::new(),
                    reason: format!("unreadable row: {error}"),
                });
                break;
            }
        }
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() > columns
            && record
                .iter()
                .skip(columns)
                .any(|cell| !cell.trim().is_empty())
        {
            errors.push(RowError {
                line,
                column: String::new(),
                reason: format!(
                    "has {} cells but the header has {columns} columns",
                    record.len()
                ),
            });
            continue;
        }
        row(line, &record, errors);
    }
}

/// A parsed file, ready for `Store::import`.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The records with their column names.
    pub batch: ImportBatch,
    /// Columns in the file that map to nothing and were left out.
    pub ignored_columns: Vec<String>,
    /// How the bytes were decoded.
    pub encoding: SourceEncoding,
}

/// A lifecycle stage as CRMs write it: a key (`renewal`), or its Japanese name as the
/// pages show it (`更新`).
fn parse_stage(raw: &str) -> Result<Slug, Invalid> {
    let key = match raw.trim() {
        "オンボーディング" | "導入" => "onboarding",
        "活用" | "定着" => "adoption",
        "価値実感" => "value",
        "更新" => "renewal",
        "拡大" | "アップセル" => "expansion",
        "推奨" => "advocacy",
        "解約" => "churned",
        other => other,
    };
    Slug::parse(key).map_err(|e| e.in_field("stage"))
}

/// How a file is read: header mappings, value translations and the currency of amounts
/// that name none. Saved under a name and reused (`--save-mapping NAME`, `--mapping NAME`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// `SOURCE=TARGET` header mappings; a source may map to several targets
    /// (`customerID=external_id`, `customerID=name`); `SOURCE=` leaves a column out.
    #[serde(default)]
    pub map: Vec<String>,
    /// `COLUMN:FROM=TO` value translations (`Partner:Yes=` empties a cell, `プラン:プロ=pro`).
    #[serde(default)]
    pub values: Vec<String>,
    /// The ISO 4217 code of amounts without a currency column or sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl Mapping {
    /// This mapping with `later` on top: a source `later` maps replaces this one's
    /// mappings of it, a value it translates replaces this one's, its currency wins.
    pub fn then(mut self, later: Mapping) -> Mapping {
        let source = |mapping: &String| {
            mapping
                .split_once('=')
                .map_or_else(|| mapping.clone(), |(s, _)| s.trim().to_lowercase())
        };
        let value = |mapping: &String| {
            mapping
                .split_once('=')
                .map_or_else(|| mapping.clone(), |(s, _)| s.trim().to_lowercase())
        };
        self.map
            .retain(|m| !later.map.iter().any(|l| source(l) == source(m)));
        self.values
            .retain(|m| !later.values.iter().any(|l| value(l) == value(m)));
        self.map.extend(later.map);
        self.values.extend(later.values);
        if later.currency.is_some() {
            self.currency = later.currency;
        }
        self
    }

    /// Checks every part, naming the bad one.
    pub fn check(&self) -> Result<(), ImportError> {
        parse_mappings(&self.map)?;
        parse_value_mappings(&self.values)?;
        self.currency()?;
        Ok(())
    }

    fn currency(&self) -> Result<Option<Currency>, ImportError> {
        self.currency
            .as_deref()
            .map(|code| Currency::parse(code).map_err(|e| ImportError::Header(e.reason)))
            .transpose()
    }
}

/// Everything a file's parse needs besides its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// Header mappings, value translations, default currency.
    pub mapping: Mapping,
    /// The day a file without dates describes (`tenure_months` counts back from it, a
    /// `churned` flag ends a subscription on it).
    pub as_of: Date,
}

impl ImportOptions {
    /// No mappings, translations or default currency; files without dates describe `as_of`.
    pub fn plain(as_of: Date) -> ImportOptions {
        ImportOptions {
            mapping: Mapping::default(),
            as_of,
        }
    }
}

/// Parses `COLUMN:FROM=TO` value translations.
fn parse_value_mappings(raw: &[String]) -> Result<Vec<ValueMapping>, ImportError> {
    raw.iter()
        .map(|mapping| {
            mapping
                .split_once(':')
                .and_then(|(column, rest)| {
                    rest.split_once('=').map(|(from, to)| ValueMapping {
                        column: column.trim().to_owned(),
                        from: from.trim().to_owned(),
                        to: to.trim().to_owned(),
                    })
                })
                .filter(|v| !v.column.is_empty() && !v.from.is_empty())
                .ok_or_else(|| {
                    ImportError::Header(format!(
                        "value mapping '{mapping}' must look like COLUMN:FROM=TO (TO may be empty)"
                    ))
                })
        })
        .collect()
}

/// Parses `SRC=DST` header mappings as given on the command line or in a query string;
/// `SRC=` (nothing after `=`) ignores the column `SRC`.
pub fn parse_mappings(raw: &[String]) -> Result<Vec<(String, String)>, ImportError> {
    raw.iter()
        .map(|mapping| {
            mapping
                .split_once('=')
                .map(|(source, target)| (source.trim().to_owned(), target.trim().to_owned()))
                .filter(|(source, _)| !source.is_empty())
                .ok_or_else(|| {
                    ImportError::Header(format!(
                        "mapping '{mapping}' must look like SOURCE=TARGET (or SOURCE= to ignore SOURCE)"
                    ))
                })
        })
        .collect()
}

/// Parses a whole file. `progress` is called with the bytes read so far.
pub fn parse_file(
    kind: ImportKind,
    bytes: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ParsedFile, ImportError> {
    let mappings = parse_mappings(&options.mapping.map)?;
    let values = parse_value_mappings(&options.mapping.values)?;
    let currency = options.mapping.currency()?;
    let decoded = decode(bytes)?;
    let (mut reader, header) = open_csv(&decoded.text)?;
    let layout = resolve_header(kind, &header, &mappings, &values)?;
    let mut errors = Vec::new();
    let mut rows = Rows {
        kind,
        accounts: Vec::new(),
        contacts: Vec::new(),
        subscriptions: Vec::new(),
        touchpoints: Vec::new(),
    };
    let mut count: u64 = 0;
    each_record(
        &mut reader,
        decoded.text.as_bytes(),
        header.len(),
        &mut errors,
        |line, record, errors| {
            let row = Row {
                line,
                layout: &layout,
                record,
                currency: currency.as_ref(),
                as_of: options.as_of,
            };
            if let Err(row_errors) = rows.push(&row) {
                errors.extend(row_errors);
            }
            count += 1;
            if count.is_multiple_of(1024) {
                progress(record.position().map_or(0, csv::Position::byte));
            }
        },
    );
    progress(bytes.len() as u64);
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    let records = match kind {
        ImportKind::Accounts => ImportRecords::Accounts(rows.accounts),
        ImportKind::Contacts => ImportRecords::Contacts(rows.contacts),
        ImportKind::Subscriptions => ImportRecords::Subscriptions(rows.subscriptions),
        ImportKind::Touchpoints => ImportRecords::Touchpoints(rows.touchpoints),
    };
    Ok(ParsedFile {
        batch: ImportBatch {
            records,
            source_columns: layout.source_columns(),
        },
        ignored_columns: layout.ignored.clone(),
        encoding: decoded.encoding,
    })
}

struct Rows {
    kind: ImportKind,
    accounts: Vec<AccountRecord>,
    contacts: Vec<ContactRecord>,
    subscriptions: Vec<SubscriptionRecord>,
    touchpoints: Vec<TouchpointRecord>,
}

/// One CSV row seen through the header layout; collects its cell errors.
struct Row<'a> {
    line: u64,
    layout: &'a columns::Layout,
    record: &'a csv::StringRecord,
    /// The currency of amounts that name none.
    currency: Option<&'a Currency>,
    as_of: Date,
}

struct Cells<'a> {
    row: &'a Row<'a>,
    errors: Vec<RowError>,
}

impl Cells<'_> {
    /// The cell of a canonical column as written: None when the column is absent.
    fn written(&self, canonical: &str) -> Option<&str> {
        self.row
            .layout
            .index(canonical)
            .map(|index| self.row.record.get(index).unwrap_or("").trim())
    }

    /// The cell of a canonical column after its value translation: None when the column
    /// is absent.
    fn raw(&self, canonical: &str) -> Option<Cow<'_, str>> {
        let index = self.row.layout.index(canonical)?;
        let cell = self.row.record.get(index).unwrap_or("").trim();
        Some(match self.row.layout.translate(index, cell) {
            Cow::Owned(to) => Cow::Owned(to.trim().to_owned()),
            Cow::Borrowed(cell) => Cow::Borrowed(cell),
        })
    }

    fn fail(&mut self, canonical: &str, reason: String) {
        self.errors.push(RowError {
            line: self.row.line,
            column: self.row.layout.source_name(canonical),
            reason,
        });
    }

    /// A cell as a patch: absent column = keep, empty = clear, value = parsed.
    fn patch<T>(
        &mut self,
        canonical: &str,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Patch<T> {
        let raw = self.raw(canonical).map(Cow::into_owned);
        match raw.as_deref() {
            None => Patch::Keep,
            Some("") => Patch::Clear,
            Some(raw) => match parse(raw) {
                Ok(value) => Patch::Set(value),
                Err(error) => {
                    self.fail(canonical, error.reason);
                    Patch::Keep
                }
            },
        }
    }

    fn optional<T>(
        &mut self,
        canonical: &str,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match self.patch(canonical, parse) {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }

    fn required<T>(
        &mut self,
        canonical: &str,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let raw = self.raw(canonical).map(Cow::into_owned);
        match raw.as_deref() {
            Some("") | None => {
                self.fail(canonical, "is required".to_owned());
                None
            }
            Some(_) => self.optional(canonical, parse),
        }
    }
}

/// A plan as the file names it: a slug, a label a value translation turned into a slug,
/// or a label in any language.
fn plan(cells: &mut Cells<'_>) -> Patch<PlanRef> {
    let written = cells.written("plan").map(str::to_owned);
    cells.patch("plan", |raw| {
        let label = |text: &str| Name::parse(text).map_err(|e| e.in_field("plan"));
        match (Slug::parse(raw), written.as_deref()) {
            (Ok(slug), Some(written)) if written != raw && Slug::parse(written).is_err() => {
                Ok(PlanRef::Named {
                    slug,
                    label: label(written)?,
                })
            }
            (Ok(slug), _) => Ok(PlanRef::Slug(slug)),
            (Err(_), _) => label(raw).map(PlanRef::Label),
        }
    })
}

/// A yes/no flag as exports write it.
fn flag(raw: &str, field: &str) -> Result<bool, Invalid> {
    match mikawaya_domain::user::fold_name(raw).as_str() {
        "yes" | "y" | "true" | "1" | "はい" | "有" | "あり" | "解約" | "churned" => Ok(true),
        "no" | "n" | "false" | "0" | "いいえ" | "無" | "なし" | "継続" | "active" => {
            Ok(false)
        }
        _ => Err(Invalid::new(
            field,
            format!("'{raw}' is not yes or no (yes/no, true/false, 1/0, はい/いいえ)"),
        )),
    }
}

fn months(raw: &str) -> Result<i64, Invalid> {
    let folded = mikawaya_domain::user::fold_name(raw);
    folded
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=1200).contains(m))
        .ok_or_else(|| {
            Invalid::new(
                "tenure_months",
                format!("'{raw}' is not a whole number of months (0-1200)"),
            )
        })
}

fn quantity(raw: &str) -> Result<u32, Invalid> {
    raw.replace(',', "").parse::<u32>().map_err(|_| {
        Invalid::new(
            "quantity",
            format!("'{raw}' is not a whole number of units"),
        )
    })
}

impl Rows {
    fn push(&mut self, row: &Row<'_>) -> Result<(), Vec<RowError>> {
        let mut cells = Cells {
            row,
            errors: Vec::new(),
        };
        let line = row.line;
        match self.kind {
            ImportKind::Accounts => {
                let external_id = cells.required("external_id", ExternalId::parse);
                let custom_fields: BTreeMap<String, serde_json::Value> = row
                    .layout
                    .custom
                    .iter()
                    .filter_map(|(key, index)| {
                        let cell = row.record.get(*index).unwrap_or("").trim();
                        let cell = row.layout.translate(*index, cell);
                        let cell = cell.trim();
                        (!cell.is_empty())
                            .then(|| (key.clone(), serde_json::Value::String(cell.to_owned())))
                    })
                    .collect();
                let Some(external_id) = external_id else {
                    return Err(cells.errors);
                };
                let name = cells.patch("name", Name::parse);
                let mrr = cells.patch("mrr", Money::parse);
                // An amount without a currency is in the one its sign names (￥, 円), else
                // the import's (or the data dir's) default currency.
                let currency = match cells.patch("currency", Currency::parse) {
                    Patch::Set(currency) => Patch::Set(currency),
                    unnamed if matches!(mrr, Patch::Set(_)) => cells
                        .written("mrr")
                        .and_then(Currency::of_sign)
                        .or_else(|| row.currency.cloned())
                        .map_or(unnamed, Patch::Set),
                    other => other,
                };
                let record = AccountRecord {
                    line,
                    external_id,
                    name,
                    parent_external_id: cells.patch("parent_external_id", ExternalId::parse),
                    plan: plan(&mut cells),
                    mrr,
                    currency,
                    contract_start: cells
                        .patch("contract_start", |raw| parse_date(raw, "contract_start")),
                    contract_end: cells
                        .patch("contract_end", |raw| parse_date(raw, "contract_end")),
                    renewal_date: cells
                        .patch("renewal_date", |raw| parse_date(raw, "renewal_date")),
                    owner_email: cells.patch("owner_email", |raw| {
                        UserRef::parse(raw).map_err(|e| e.in_field("owner_email"))
                    }),
                    partner_external_id: cells.patch("partner_external_id", ExternalId::parse),
                    stage: cells.patch("stage", parse_stage),
                    tier: cells.patch("tier", TouchTier::parse),
                    custom_fields,
                };
                if cells.errors.is_empty() {
                    self.accounts.push(record);
                }
            }
            ImportKind::Contacts => {
                let record = (
                    cells.optional("external_id", ExternalId::parse),
                    cells.required("account_external_id", ExternalId::parse),
                    cells.required("name", Name::parse),
                    cells.optional("email", Email::parse),
                    cells.optional("role", ContactRole::parse),
                    cells.optional("title", |raw| {
                        Name::parse(raw).map_err(|e| e.in_field("title"))
                    }),
                );
                let personal_success = cells.optional("personal_success", |raw| {
                    Text::parse(raw).map_err(|e| e.in_field("personal_success"))
                });
                let influence = cells.optional("influence", Influence::parse);
                let sentiment = cells.optional("sentiment", Sentiment::parse);
                if let (external_id, Some(account_external_id), Some(name), email, role, title) =
                    record
                {
                    self.contacts.push(ContactRecord {
                        line,
                        external_id,
                        account_external_id,
                        name,
                        email,
                        role,
                        title,
                        source: mikawaya_domain::contact::ContactSource::Crm,
                        personal_success,
                        influence,
                        sentiment,
                    });
                }
            }
            ImportKind::Subscriptions => {
                let plan = match cells.raw("plan").as_deref() {
                    Some("") | None => {
                        cells.fail("plan", "is required".to_owned());
                        None
                    }
                    Some(_) => match plan(&mut cells) {
                        Patch::Set(plan) => Some(plan),
                        _ => None,
                    },
                };
                // A file without dates: the start counts back its tenure from the as-of
                // day; a churned flag ends the subscription on it.
                let dated = cells.raw("start_date").is_some_and(|raw| !raw.is_empty())
                    || cells.row.layout.index("tenure_months").is_none();
                let start = if dated {
                    cells.required("start_date", |raw| parse_date(raw, "start_date"))
                } else {
                    let as_of = row.as_of;
                    cells
                        .required("tenure_months", months)
                        .and_then(|months| as_of.checked_sub(jiff::Span::new().months(months)).ok())
                };
                let churned = cells
                    .optional("churned", |raw| flag(raw, "churned"))
                    .unwrap_or(false);
                let end = cells
                    .optional("end_date", |raw| parse_date(raw, "end_date"))
                    .or_else(|| churned.then_some(row.as_of));
                let record = (
                    cells.optional("external_id", ExternalId::parse),
                    cells.required("account_external_id", ExternalId::parse),
                    plan,
                    cells.optional("quantity", quantity).unwrap_or(1),
                    cells.required("mrr", Money::parse),
                    start,
                    end,
                );
                if let (
                    external_id,
                    Some(account_external_id),
                    Some(plan),
                    quantity,
                    Some(mrr),
                    Some(start),
                    end,
                ) = record
                {
                    self.subscriptions.push(SubscriptionRecord {
                        line,
                        external_id,
                        account_external_id,
                        plan,
                        quantity,
                        mrr,
                        start,
                        end,
                    });
                }
            }
            ImportKind::Touchpoints => {
                let record = (
                    cells.required("account_external_id", ExternalId::parse),
                    cells.required("kind", TouchpointKind::parse),
                    cells.required("occurred_at", |raw| parse_timestamp(raw, "occurred_at")),
                    cells.optional("user_email", |raw| {
                        UserRef::parse(raw).map_err(|e| e.in_field("user_email"))
                    }),
                    cells.optional("summary", Text::parse),
                );
                if let (
                    Some(account_external_id),
                    Some(kind),
                    Some(occurred_at),
                    user_email,
                    summary,
                ) = record
                {
                    self.touchpoints.push(TouchpointRecord {
                        line,
                        account_external_id,
                        kind,
                        occurred_at,
                        user_email,
                        summary,
                    });
                }
            }
        }
        if cells.errors.is_empty() {
            Ok(())
        } else {
            Err(cells.errors)
        }
    }
}

#[cfg(test)]
mod tests;
