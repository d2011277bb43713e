//! Bulk import of events from a file: NDJSON (one Segment message per line, each with its
//! own `type`) or CSV (`account_id,user_id,event,timestamp[,property columns]`).
//!
//! The file is read twice, streaming: the first pass checks every line (so a bad file
//! writes nothing and every bad line is reported), the second appends in chunks through
//! the same log, de-duplication and rollups as the HTTP API. A line without a message id
//! gets one derived from its content, so importing a file twice stores it once.

use crate::message::{MessageError, StoredEvent, parse_import_line, track};
use crate::{Ingest, IngestError, Prepared};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The source number of file imports (write keys start at 1).
pub const IMPORT_SOURCE: u32 = 0;
const CHUNK: usize = 20_000;

/// The format of an events file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    /// One JSON message per line.
    Ndjson,
    /// `account_id,user_id,event,timestamp[,property columns]`.
    Csv,
}

impl EventFormat {
    /// Guesses from the file name: `.csv` is CSV, anything else NDJSON.
    pub fn from_path(path: &Path) -> Self {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            EventFormat::Csv
        } else {
            EventFormat::Ndjson
        }
    }
}

/// A rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line.
    pub line: u64,
    /// The field.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventImport {
    /// Events read.
    pub events: u64,
    /// Newly stored.
    pub accepted: u64,
    /// Already in the log.
    pub duplicates: u64,
}

fn content_id(line: &[u8]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    line.hash(&mut hasher);
    let first = hasher.finish();
    0xa5u8.hash(&mut hasher);
    format!("import-{first:016x}{:016x}", hasher.finish())
}

/// Reads events from `reader`, calling `visit` with each chunk of parsed events. Stops at
/// the first chunk with bad lines only when `stop_on_error`.
fn read_events(
    reader: impl Read,
    format: EventFormat,
    received_ms: i64,
    progress: &mut dyn FnMut(u64),
    visit: &mut dyn FnMut(Vec<StoredEvent>) -> Result<(), IngestError>,
    errors: &mut Vec<LineError>,
) -> Result<u64, IngestError> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut reject = |line: u64, error: MessageError| {
        if errors.len() < 1000 {
            errors.push(LineError {
                line,
                field: error.field,
                reason: error.reason,
            });
        }
    };
    match format {
        EventFormat::Ndjson => {
            let mut reader = BufReader::with_capacity(1 << 20, reader);
            let mut line = Vec::new();
            let mut number = 0u64;
            loop {
                line.clear();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| IngestError::Import(format!("reading: {e}")))?;
                if read == 0 {
                    break;
                }
                number += 1;
                bytes += read as u64;
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                match parse_import_line(
                    trimmed,
                    crate::import::IMPORT_SOURCE,
                    received_ms,
                    &content_id(trimmed),
                ) {
                    Ok(event) => chunk.push(event),
                    Err(error) => reject(number, error),
                }
                if chunk.len() == CHUNK {
                    count += chunk.len() as u64;
                    visit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
                    progress(bytes);
                }
            }
        }
        EventFormat::Csv => {
            let mut csv = csv::ReaderBuilder::new()
                .flexible(false)
                .from_reader(reader);
            let header = csv
                .headers()
                .map_err(|e| IngestError::Import(format!("header: {e}")))?
                .clone();
            let expected = ["account_id", "user_id", "event", "timestamp"];
            let names: Vec<&str> = header.iter().map(str::trim).collect();
            if names.len() < 4 || names[..4] != expected {
                return Err(IngestError::Import(format!(
                    "the header must start with {}",
                    expected.join(",")
                )));
            }
            let properties: Vec<String> = names[4..].iter().map(|n| (*n).to_owned()).collect();
            let mut record = csv::StringRecord::new();
            loop {
                match csv.read_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => {
                        let line = error.position().map_or(0, csv::Position::line);
                        reject(
                            line,
                            MessageError {
                                field: String::new(),
                                reason: error.to_string(),
                            },
                        );
                        break;
                    }
                }
                let line = record.position().map_or(0, csv::Position::line);
                bytes = record.position().map_or(bytes, csv::Position::byte);
                match csv_event(&record, &properties, received_ms) {
                    Ok(event) => chunk.push(event),
                    Err(error) => reject(line, error),
                }
                if chunk.len() == CHUNK {
                    count += chunk.len() as u64;
                    visit(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
                    progress(bytes);
                }
            }
        }
    }
    count += chunk.len() as u64;
    if !chunk.is_empty() {
        visit(chunk)?;
    }
    progress(bytes);
    Ok(count)
}

fn csv_event(
    record: &csv::StringRecord,
    properties: &[String],
    received_ms: i64,
) -> Result<StoredEvent, MessageError> {
    let cell = |index: usize| record.get(index).unwrap_or("").trim();
    let timestamp = cell(3)
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| MessageError {
            field: "timestamp".into(),
            reason: format!("'{}' is not an ISO 8601 timestamp", cell(3)),
        })?;
    let mut map = serde_json::Map::new();
    for (offset, name) in properties.iter().enumerate() {
        let value = cell(4 + offset);
        if value.is_empty() {
            continue;
        }
        let json = value
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map_or_else(|| serde_json::json!(value), |n| serde_json::json!(n));
        map.insert(name.clone(), json);
    }
    let properties = if map.is_empty() {
        None
    } else {
        serde_json::value::to_raw_value(&map).ok()
    };
    let joined: Vec<&str> = record.iter().collect();
    let message_id = content_id(joined.join("\u{1f}").as_bytes());
    if cell(0).is_empty() {
        return Err(MessageError {
            field: "account_id".into(),
            reason: "is required".into(),
        });
    }
    track(
        cell(1),
        cell(0),
        cell(2),
        timestamp,
        properties,
        message_id,
        IMPORT_SOURCE,
        received_ms,
    )
}

/// Imports a file: checks every line first, then appends. Returns the bad lines instead
/// when there are any (nothing is written then).
pub fn import_file(
    ingest: &Ingest,
    path: &Path,
    format: EventFormat,
    progress: &mut dyn FnMut(u64),
) -> Result<Result<EventImport, Vec<LineError>>, IngestError> {
    let open = || {
        std::fs::File::open(path)
            .map_err(|e| IngestError::Import(format!("{}: {e}", path.display())))
    };
    let received_ms = jiff::Timestamp::now().as_millisecond();
    let mut errors = Vec::new();
    let mut ignore = |_| {};
    read_events(
        open()?,
        format,
        received_ms,
        &mut ignore,
        &mut |_| Ok(()),
        &mut errors,
    )?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut summary = EventImport::default();
    let mut append = |events: Vec<StoredEvent>| -> Result<(), IngestError> {
        summary.events += events.len() as u64;
        let appended = append_blocking(ingest, events)?;
        summary.accepted += appended.accepted;
        summary.duplicates += appended.duplicates;
        Ok(())
    };
    read_events(
        open()?,
        format,
        received_ms,
        progress,
        &mut append,
        &mut errors,
    )?;
    ingest.wait_applied(std::time::Duration::from_secs(600));
    Ok(Ok(summary))
}

/// Serializes events on this thread and waits until the log has them.
pub fn append_blocking(
    ingest: &Ingest,
    events: Vec<StoredEvent>,
) -> Result<crate::Appended, IngestError> {
    let prepared: Vec<Prepared> = events.into_iter().map(Prepared::new).collect();
    ingest
        .append(prepared)
        .blocking_recv()
        .map_err(|_| IngestError::Stopped)?
}
