//! Feedback items from a CSV file (a CRM's or a support tool's export): one item per row,
//! tied to an account by its external id and, when given, to a contact by email. UTF-8 or
//! Shift_JIS, CRLF or LF; every bad row is named by line and column, and a file with any
//! bad row is refused whole.
//!
//! Columns (English or Japanese names, any order): `account` (`account_id`, `external_id`,
//! `顧客ID`, `取引先ID`), `text` (`feedback`, `comment`, `内容`, `要望`, `コメント`),
//! `contact` (`email`, `メール`, `担当者メール`), `date` (`日付`, YYYY-MM-DD or an
//! RFC 3339 instant), `key` (`id`, `番号`: the row's own id, so importing the file again adds
//! nothing), `source` (`email` or `csv`, default `csv`).

use crate::{ImportError, RowError, SourceEncoding, decode, each_record, open_csv};
use jiff::civil::Date;

/// One row of a feedback file.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// The account's external id.
    pub account: String,
    /// The contact's email.
    pub contact: Option<String>,
    /// What was said.
    pub text: String,
    /// When (a day, or an instant).
    pub at: Option<jiff::Timestamp>,
    /// The day, when only a day was given.
    pub day: Option<Date>,
    /// The row's own id.
    pub key: Option<String>,
    /// `csv` or `email`.
    pub source: String,
}

fn column(name: &str) -> Option<&'static str> {
    let folded = name
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '-'], "_");
    Some(match folded.as_str() {
        "account"
        | "account_id"
        | "external_id"
        | "account_external_id"
        | "顧客id"
        | "取引先id"
        | "顧客コード" => "account",
        "text" | "feedback" | "comment" | "内容" | "要望" | "コメント" | "フィードバック" => {
            "text"
        }
        "contact" | "email" | "contact_email" | "メール" | "担当者メール" | "メールアドレス" => {
            "contact"
        }
        "date" | "at" | "created_at" | "日付" | "日時" => "date",
        "key" | "id" | "番号" => "key",
        "source" | "経路" => "source",
        _ => return None,
    })
}

/// Parses a feedback file; returns its rows and how it was decoded.
pub fn parse(bytes: &[u8]) -> Result<(Vec<FeedbackRow>, SourceEncoding), ImportError> {
    let decoded = decode(bytes)?;
    let (mut reader, header) = open_csv(&decoded.text)?;
    let mut at: std::collections::BTreeMap<&'static str, usize> = std::collections::BTreeMap::new();
    for (index, name) in header.iter().enumerate() {
        if let Some(key) = column(name)
            && at.insert(key, index).is_some()
        {
            return Err(ImportError::Header(format!(
                "column '{key}' is given twice"
            )));
        }
    }
    for required in ["account", "text"] {
        if !at.contains_key(required) {
            return Err(ImportError::Header(format!(
                "missing column '{required}' (found: {})",
                header.iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    each_record(
        &mut reader,
        decoded.text.as_bytes(),
        header.len(),
        &mut errors,
        |line, record, errors| {
            let cell = |key: &str| {
                at.get(key)
                    .and_then(|i| record.get(*i))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
            };
            let name = |key: &str| header.get(at[key]).unwrap_or(key).to_owned();
            let mut bad = |key: &str, reason: String| {
                errors.push(RowError {
                    line,
                    column: name(key),
                    reason,
                })
            };
            let Some(account) = cell("account") else {
                bad("account", "is empty".to_owned());
                return;
            };
            let Some(text) = cell("text") else {
                bad("text", "is empty".to_owned());
                return;
            };
            if text.chars().count() > 10_000 {
                bad("text", "at most 10,000 characters".to_owned());
                return;
            }
            let (mut when, mut day) = (None, None);
            if let Some(raw) = cell("date") {
                let raw = mikawaya_domain::value::half_width(raw);
                if let Ok(instant) = raw.parse::<jiff::Timestamp>() {
                    when = Some(instant);
                } else {
                    match mikawaya_domain::value::parse_date(&raw, "date") {
                        Ok(d) => day = Some(d),
                        Err(e) => {
                            bad("date", e.reason);
                            return;
                        }
                    }
                }
            }
            let source = match cell("source").map(str::to_lowercase).as_deref() {
                None | Some("csv") => "csv",
                Some("email") | Some("メール") => "email",
                Some(other) => {
                    bad("source", format!("'{other}' is not one of: csv, email"));
                    return;
                }
            };
            rows.push(FeedbackRow {
                line,
                account: account.to_owned(),
                contact: cell("contact").map(str::to_owned),
                text: text.to_owned(),
                at: when,
                day,
                key: cell("key").map(str::to_owned),
                source: source.to_owned(),
            });
        },
    );
    if errors.is_empty() {
        Ok((rows, decoded.encoding))
    } else {
        Err(ImportError::Rows(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_jis_crlf_export_reads_with_lines_named() {
        let text = "顧客ID,担当者メール,要望,日付\r\nACC-1,hana@a.example,CSV出力がほしい,２０２６-０５-０１\r\nACC-2,,\"Dashboards are slow,\r\nvery slow\",2026-05-02T10:00:00Z\r\n";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let (rows, encoding) = parse(&bytes).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(encoding, SourceEncoding::ShiftJis);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].line,
                rows[0].account.as_str(),
                rows[0].text.as_str()
            ),
            (2, "ACC-1", "CSV出力がほしい")
        );
        assert_eq!(rows[0].day, Some(jiff::civil::date(2026, 5, 1)));
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].at.is_some() && rows[1].contact.is_none());
        let bad = "account,text,date\r\nACC-1,ok,2026-01-01\r\nACC-2,,2026-01-01\r\nACC-3,x,yesterday\r\n";
        match parse(bad.as_bytes()) {
            Err(ImportError::Rows(errors)) => {
                let named: Vec<(u64, &str)> =
                    errors.iter().map(|e| (e.line, e.column.as_str())).collect();
                assert_eq!(named, vec![(3, "text"), (4, "date")]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(b"name,comment\nx,y\n"),
            Err(ImportError::Header(_))
        ));
    }
}
