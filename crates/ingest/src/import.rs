//! Bulk import of events from a file: NDJSON (one Segment message per line, each with its
//! own `type`) or CSV (`account_id,user_id,event,timestamp[,property columns]`).
//!
//! The file is read twice, streaming: the first pass checks every line (so a bad file
//! writes nothing and every bad line is reported), the second appends in chunks through
//! the same log, de-duplication and rollups as the HTTP API. A line without a message id
//! gets one derived from its content, so importing a file twice stores it once.

use crate::message::{Kind, MessageError, StoredEvent, parse_import_line};
use crate::{Ingest, IngestError, Prepared};
use std::io::{BufRead, BufReader, Read, Seek};
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
    format!("import-{:032x}", xxhash_rust::xxh3::xxh3_128(line))
}

/// Reads events from `reader`, calling `visit` with each chunk of parsed events. Stops at
/// the first chunk with bad lines only when `stop_on_error`.
fn read_events(
    reader: impl Read,
    first_line: u64,
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
            let mut number = first_line - 1;
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
    if cell(1).is_empty() {
        return Err(MessageError {
            field: "user_id".into(),
            reason: "is required".into(),
        });
    }
    if cell(2).is_empty() {
        return Err(MessageError {
            field: "event".into(),
            reason: "is required".into(),
        });
    }
    Ok(StoredEvent {
        kind: Kind::Track,
        message_id,
        source: IMPORT_SOURCE,
        user_id: Some(cell(1).to_owned()),
        anonymous_id: None,
        event: Some(cell(2).to_owned()),
        group_id: Some(cell(0).to_owned()),
        previous_id: None,
        timestamp_ms: timestamp,
        received_ms,
        properties,
        traits: None,
        context: None,
    })
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
    let mut errors = check(path, format, received_ms)?;
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Ok(Err(errors));
    }
    // Parse on this thread while the writer and applier work on earlier chunks: a few
    // appends stay in flight instead of waiting for each.
    let mut summary = EventImport::default();
    let mut in_flight: std::collections::VecDeque<crate::AppendReply> =
        std::collections::VecDeque::new();
    let settle =
        |reply: crate::AppendReply, summary: &mut EventImport| -> Result<(), IngestError> {
            let appended = reply.blocking_recv().map_err(|_| IngestError::Stopped)??;
            summary.accepted += appended.accepted;
            summary.duplicates += appended.duplicates;
            Ok(())
        };
    let mut append = |events: Vec<StoredEvent>| -> Result<(), IngestError> {
        summary.events += events.len() as u64;
        in_flight.push_back(ingest.append(events.into_iter().map(Prepared::new).collect()));
        if in_flight.len() > 3
            && let Some(reply) = in_flight.pop_front()
        {
            settle(reply, &mut summary)?;
        }
        Ok(())
    };
    read_events(
        open()?,
        1,
        format,
        received_ms,
        progress,
        &mut append,
        &mut errors,
    )?;
    while let Some(reply) = in_flight.pop_front() {
        settle(reply, &mut summary)?;
    }
    ingest.wait_applied(std::time::Duration::from_secs(600));
    Ok(Ok(summary))
}

/// Checks the lines of one part of a file (numbered from `first_line`) without writing.
fn check_part(
    reader: impl Read,
    first_line: u64,
    format: EventFormat,
    received_ms: i64,
) -> Result<Vec<LineError>, IngestError> {
    let mut errors = Vec::new();
    read_events(
        reader,
        first_line,
        format,
        received_ms,
        &mut |_| {},
        &mut |_| Ok(()),
        &mut errors,
    )?;
    Ok(errors)
}

/// Checks every line without writing. NDJSON is split in two halves at a line break and
/// checked on two threads.
fn check(
    path: &Path,
    format: EventFormat,
    received_ms: i64,
) -> Result<Vec<LineError>, IngestError> {
    let fail = |e: std::io::Error| IngestError::Import(format!("{}: {e}", path.display()));
    let open = || std::fs::File::open(path).map_err(fail);
    if format == EventFormat::Csv {
        return check_part(open()?, 1, format, received_ms);
    }
    let length = open()?.metadata().map_err(fail)?.len();
    // The split: the first line break at or after the middle.
    let mut file = open()?;
    file.seek(std::io::SeekFrom::Start(length / 2))
        .map_err(fail)?;
    let mut tail = BufReader::new(file);
    let mut skipped = Vec::new();
    let split = length / 2 + tail.read_until(b'\n', &mut skipped).map_err(fail)? as u64;
    let mut lines_before = 1u64;
    let mut counter = BufReader::with_capacity(1 << 20, open()?.take(split));
    loop {
        let buffer = counter.fill_buf().map_err(fail)?;
        if buffer.is_empty() {
            break;
        }
        lines_before += buffer.iter().filter(|b| **b == b'\n').count() as u64;
        let consumed = buffer.len();
        counter.consume(consumed);
    }
    let halves = std::thread::scope(|scope| {
        let first = scope.spawn(|| check_part(open()?.take(split), 1, format, received_ms));
        let second = scope.spawn(|| {
            let mut file = open()?;
            file.seek(std::io::SeekFrom::Start(split)).map_err(fail)?;
            check_part(file, lines_before, format, received_ms)
        });
        (first.join(), second.join())
    });
    let mut errors = Vec::new();
    for half in [halves.0, halves.1] {
        errors.extend(half.map_err(|_| IngestError::Stopped)??);
    }
    Ok(errors)
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
