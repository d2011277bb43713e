//! Bulk import of events from a file: NDJSON (one Segment message per line, each with its
//! own `type`) or CSV (columns for the account, the user, the event and its time, found by
//! name or mapped; an optional message id; every other column a property).
//!
//! The file is read once, streaming: NDJSON in blocks of whole lines parsed on every core,
//! CSV on one thread; events are appended in file order through the same log,
//! de-duplication and rollups as the HTTP API, inside an import that can be undone. A bad
//! line stops the appending; the whole import is then rolled back (the log cut back to
//! where it began) and every bad line reported, so a bad file writes nothing. A line
//! without a message id gets one derived from its content (and, in a CSV file, from how
//! many identical rows came before it in the file), so importing a file twice stores it
//! once while rows that genuinely repeat are all kept.

use crate::message::{Kind, MessageError, PropertyNumbers, StoredEvent, parse_import_line};
use crate::{Ingest, IngestError, Prepared};
use std::io::Read;
use std::path::Path;

/// The source number of file imports (write keys start at 1).
pub const IMPORT_SOURCE: u32 = 0;
/// Events a file import hands the writer at once (a few chunks are in flight: each is a
/// few MiB, and one more fsync a chunk is cheap beside parsing it).
const CHUNK: usize = 8_192;
/// Events written but not yet in the rollups that an import lets pile up at most.
const APPLY_LAG: u64 = CHUNK as u64;
/// Chunks handed to the writer and not yet written that an import lets pile up at most.
const IN_FLIGHT: usize = 2;
/// Bad lines reported at most.
const MAX_ERRORS: usize = 1000;

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

/// How a CSV file's columns are read: `SOURCE=TARGET` pairs naming which header gives
/// `account_id`, `user_id`, `event`, `timestamp` or `message_id` (any other target renames
/// a property; an empty target leaves the column out). Without a pair a column is found
/// by its name or a usual alias (`groupId`, `userId`, `event_name`, `time`, `messageId`…,
/// whatever the case, spaces, `_` or `-`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvMapping {
    /// (source header, target) pairs.
    pub map: Vec<(String, String)>,
}

impl CsvMapping {
    /// Reads `SOURCE=TARGET` pairs as the CLI takes them.
    pub fn parse(pairs: &[String]) -> Result<Self, IngestError> {
        let map = pairs
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(source, target)| (source.trim().to_owned(), target.trim().to_owned()))
                    .filter(|(source, _)| !source.is_empty())
                    .ok_or_else(|| {
                        IngestError::Import(format!("--map: '{pair}' is not SOURCE=TARGET"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { map })
    }
}

/// The fields a CSV event row has, with the header names that mean them.
const CSV_FIELDS: [(&str, &[&str]); 5] = [
    (
        "account_id",
        &["accountid", "groupid", "account", "customerid", "companyid"],
    ),
    ("user_id", &["userid", "user", "distinctid"]),
    ("event", &["eventname", "eventtype"]),
    (
        "timestamp",
        &[
            "time",
            "eventtime",
            "eventtimestamp",
            "occurredat",
            "ts",
            "createdat",
        ],
    ),
    ("message_id", &["messageid", "eventid", "insertid"]),
];

/// A header name without case, spaces, `_` or `-`.
fn squashed(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{3000}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each field of a CSV event row is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CsvLayout {
    account: usize,
    user: usize,
    event: usize,
    timestamp: usize,
    message_id: Option<usize>,
    properties: Vec<(usize, String)>,
}

impl CsvLayout {
    fn from_header(names: &[&str], mapping: &CsvMapping) -> Result<Self, IngestError> {
        for (source, _) in &mapping.map {
            if !names.iter().any(|n| squashed(n) == squashed(source)) {
                return Err(IngestError::Import(format!(
                    "--map: the header has no column '{source}' (it has: {})",
                    names.join(", ")
                )));
            }
        }
        let mut fields: [Option<usize>; 5] = [None; 5];
        let mut properties = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let key = squashed(name);
            let target = match mapping
                .map
                .iter()
                .find(|(source, _)| squashed(source) == key)
            {
                Some((_, target)) if target.is_empty() => continue,
                Some((_, target)) => target.clone(),
                None => (*name).to_owned(),
            };
            let wanted = squashed(&target);
            let field = CSV_FIELDS.iter().position(|(field, aliases)| {
                squashed(field) == wanted || aliases.contains(&wanted.as_str())
            });
            match field {
                Some(field) => {
                    if let Some(earlier) = fields[field] {
                        return Err(IngestError::Import(format!(
                            "columns '{}' and '{name}' both give {} (leave one out with --map '{name}=')",
                            names[earlier], CSV_FIELDS[field].0
                        )));
                    }
                    fields[field] = Some(index);
                }
                None => properties.push((index, target)),
            }
        }
        let required = |field: usize| {
            fields[field].ok_or_else(|| {
                IngestError::Import(format!(
                    "no column gives {} (the header has: {}; map one with --map COLUMN={})",
                    CSV_FIELDS[field].0,
                    names.join(", "),
                    CSV_FIELDS[field].0
                ))
            })
        };
        Ok(Self {
            account: required(0)?,
            user: required(1)?,
            event: required(2)?,
            timestamp: required(3)?,
            message_id: fields[4],
            properties,
        })
    }
}

/// Ids for CSV rows without a message id: the content's hash for a row's first occurrence
/// in the file (the id earlier versions gave it), the content and its occurrence number
/// for identical rows after it. Which rows came before is remembered in a fixed-size
/// Bloom filter (16 MiB, taken when a row first needs an id) and a count per repeated row, so the same file, or the same file
/// with rows added at its end, gives the same ids to the same rows.
struct RowIds {
    bits: Vec<u64>,
    repeats: rustc_hash::FxHashMap<u128, u32>,
}

impl RowIds {
    const BITS: u64 = 1 << 27;

    fn new() -> Self {
        Self {
            bits: Vec::new(),
            repeats: rustc_hash::FxHashMap::default(),
        }
    }

    /// How many rows with this hash came before (a Bloom filter's rare false positive
    /// skips a number, which keeps ids unique and the same on every run).
    fn occurrence(&mut self, hash: u128) -> u32 {
        if self.bits.is_empty() {
            self.bits = vec![0; (Self::BITS / 64) as usize];
        }
        let (low, high) = (hash as u64, (hash >> 64) as u64 | 1);
        let mut seen = true;
        for i in 0..3u64 {
            let bit = low.wrapping_add(i.wrapping_mul(high)) % Self::BITS;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            if let Some(slot) = self.bits.get_mut(word) {
                seen &= *slot & mask != 0;
                *slot |= mask;
            }
        }
        if !seen {
            return 0;
        }
        let count = self.repeats.entry(hash).or_insert(0);
        *count += 1;
        *count
    }

    fn id(&mut self, content: &[u8]) -> String {
        let hash = xxhash_rust::xxh3::xxh3_128(content);
        match self.occurrence(hash) {
            0 => format!("import-{hash:032x}"),
            n => format!(
                "import-{:032x}",
                xxhash_rust::xxh3::xxh3_128_with_seed(content, u64::from(n))
            ),
        }
    }
}

/// An event time as warehouses export it: RFC 3339 with an offset; a date and time
/// without one (`2020-01-03 00:00:00`, `2020-01-03T00:00`), read in `time_zone`; a date
/// alone (the day's start there); or Unix seconds (10 digits) or milliseconds (13).
fn event_time(cell: &str, time_zone: &jiff::tz::TimeZone) -> Option<i64> {
    if let Ok(timestamp) = cell.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    if !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit()) {
        let number: i64 = cell.parse().ok()?;
        return match cell.len() {
            9..=11 => number.checked_mul(1000),
            12..=14 => Some(number),
            _ => None,
        };
    }
    let civil = cell
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            cell.parse::<jiff::civil::Date>()
                .map(|day| day.to_datetime(jiff::civil::Time::midnight()))
        })
        .ok()?;
    civil
        .to_zoned(time_zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp().as_millisecond())
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

/// Keeps a bad line (the first [`MAX_ERRORS`] of a file).
fn reject(errors: &mut Vec<LineError>, line: u64, error: MessageError) {
    if errors.len() < MAX_ERRORS {
        errors.push(LineError {
            line,
            field: error.field,
            reason: error.reason,
        });
    }
}

/// Reads CSV events from `reader`, calling `visit` with each chunk of parsed events and
/// whether every line so far was good; bad lines go to `errors`.
fn read_csv(
    reader: impl Read,
    received_ms: i64,
    options: &CsvRead<'_>,
    progress: &mut dyn FnMut(u64),
    visit: &mut dyn FnMut(Prepared, bool) -> Result<(), IngestError>,
    errors: &mut Vec<LineError>,
) -> Result<(), IngestError> {
    let mut chunk = Prepared::default();
    let mut bytes = 0u64;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| IngestError::Import(format!("header: {e}")))?
        .clone();
    let names: Vec<&str> = header
        .iter()
        .map(|n| n.trim().trim_start_matches('\u{feff}'))
        .collect();
    let layout = CsvLayout::from_header(&names, options.mapping)?;
    let mut ids = RowIds::new();
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                reject(
                    errors,
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
        match csv_event(&record, &layout, options.time_zone, &mut ids, received_ms) {
            Ok(event) => chunk.push(&event.as_ref()),
            Err(error) => reject(errors, line, error),
        }
        if chunk.len() == CHUNK {
            let clean = errors.is_empty();
            // The next chunk is sized like this one, so it is not copied as it grows.
            let size = chunk.bytes_len();
            visit(std::mem::take(&mut chunk), clean)?;
            chunk.reserve(CHUNK, size + size / 16);
            progress(bytes);
        }
    }
    if !chunk.is_empty() {
        visit(chunk, errors.is_empty())?;
    }
    progress(bytes);
    Ok(())
}

/// What reading a CSV file needs besides the file.
struct CsvRead<'a> {
    mapping: &'a CsvMapping,
    time_zone: &'a jiff::tz::TimeZone,
}

fn csv_event(
    record: &csv::StringRecord,
    layout: &CsvLayout,
    time_zone: &jiff::tz::TimeZone,
    ids: &mut RowIds,
    received_ms: i64,
) -> Result<StoredEvent, MessageError> {
    let cell = |index: usize| record.get(index).unwrap_or("").trim();
    let required = |index: usize, field: &str| {
        let value = cell(index);
        if value.is_empty() {
            Err(MessageError {
                field: field.into(),
                reason: "is required".into(),
            })
        } else {
            Ok(value)
        }
    };
    let (account, user, event) = (
        required(layout.account, "account_id")?,
        required(layout.user, "user_id")?,
        required(layout.event, "event")?,
    );
    let timestamp = event_time(cell(layout.timestamp), time_zone).ok_or_else(|| MessageError {
        field: "timestamp".into(),
        reason: format!("'{}' is not an ISO 8601 timestamp", cell(layout.timestamp)),
    })?;
    let mut map = serde_json::Map::new();
    for (index, name) in &layout.properties {
        let value = cell(*index);
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
    let message_id = match layout.message_id.map(cell).filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let joined: Vec<&str> = record.iter().collect();
            ids.id(joined.join("\u{1f}").as_bytes())
        }
    };
    Ok(StoredEvent {
        kind: Kind::Track,
        message_id,
        source: IMPORT_SOURCE,
        user_id: Some(user.to_owned()),
        anonymous_id: None,
        event: Some(event.to_owned()),
        group_id: Some(account.to_owned()),
        previous_id: None,
        timestamp_ms: timestamp,
        received_ms,
        properties,
        traits: None,
        context: None,
    })
}

/// Imports a file in one pass: lines are parsed on every core, appended in file order
/// through the same log, de-duplication and rollups as the HTTP API, inside an import
/// that can be undone. When any line is bad, the import is rolled back (the log cut back
/// to where it began, the rollups rebuilt, no identity change reaching the store) and the
/// bad lines are returned (the first 1000): a bad file writes nothing.
pub fn import_file(
    ingest: &Ingest,
    path: &Path,
    format: EventFormat,
    mapping: &CsvMapping,
    progress: &mut dyn FnMut(u64),
) -> Result<Result<EventImport, Vec<LineError>>, IngestError> {
    let file = std::fs::File::open(path)
        .map_err(|e| IngestError::Import(format!("{}: {e}", path.display())))?;
    let received_ms = jiff::Timestamp::now().as_millisecond();
    // Room for the message ids, reserved once: a CSV row is rarely under 32 bytes, a
    // Segment message under 200. Room not filled costs address space, not memory; room
    // too small would be copied as it grows, the old and the new side by side.
    let bytes_per_event = match format {
        EventFormat::Csv => 32,
        _ => 200,
    };
    let expected = file.metadata().map_or(0, |m| {
        usize::try_from(m.len() / bytes_per_event).unwrap_or(0)
    });
    ingest.begin_import(expected)?;
    let mut errors = Vec::new();
    let appended = append_file(
        ingest,
        file,
        format,
        mapping,
        received_ms,
        progress,
        &mut errors,
    );
    match appended {
        Ok(summary) if errors.is_empty() => match ingest.end_import() {
            Ok(()) => Ok(Ok(summary)),
            Err(error) => {
                undo(ingest);
                Err(error)
            }
        },
        Ok(_) => {
            ingest.roll_back_import()?;
            errors.sort_by_key(|e| e.line);
            Ok(Err(errors))
        }
        Err(error) => {
            undo(ingest);
            Err(error)
        }
    }
}

/// Rolls back an import that failed for a reason other than its lines.
fn undo(ingest: &Ingest) {
    if let Err(error) = ingest.roll_back_import() {
        tracing::error!(error = %error, "rolling back a failed import failed");
    }
}

/// Appends the file's events (until the first bad line; the rest is still checked),
/// keeping a few appends in flight while parsing goes on.
fn append_file(
    ingest: &Ingest,
    file: std::fs::File,
    format: EventFormat,
    mapping: &CsvMapping,
    received_ms: i64,
    progress: &mut dyn FnMut(u64),
    errors: &mut Vec<LineError>,
) -> Result<EventImport, IngestError> {
    let mut summary = EventImport::default();
    let mut in_flight: std::collections::VecDeque<crate::AppendReply> =
        std::collections::VecDeque::new();
    let settle =
        |reply: crate::AppendReply, summary: &mut EventImport| -> Result<(), IngestError> {
            let appended = reply.blocking_recv().map_err(|_| IngestError::Stopped)??;
            summary.accepted += appended.accepted;
            summary.duplicates += appended.duplicates;
            // Parsing runs at most a few blocks ahead of the rollups, so their buffers
            // are reused instead of piling up in the applier's queue.
            ingest.wait_applied_before(
                appended.sequence.saturating_sub(APPLY_LAG),
                std::time::Duration::from_secs(60),
            );
            Ok(())
        };
    let mut append = |batch: Prepared, clean: bool| -> Result<(), IngestError> {
        summary.events += batch.len() as u64;
        if !clean {
            return Ok(());
        }
        in_flight.push_back(ingest.append_import(batch));
        if in_flight.len() > IN_FLIGHT
            && let Some(reply) = in_flight.pop_front()
        {
            settle(reply, &mut summary)?;
        }
        Ok(())
    };
    match format {
        EventFormat::Csv => {
            let options = CsvRead {
                mapping,
                time_zone: &ingest.config().time_zone,
            };
            read_csv(file, received_ms, &options, progress, &mut append, errors)?
        }
        EventFormat::Ndjson => {
            read_ndjson(ingest, file, received_ms, progress, &mut append, errors)?
        }
    }
    let mut first_failure = None;
    while let Some(reply) = in_flight.pop_front() {
        if let Err(error) = settle(reply, &mut summary) {
            first_failure.get_or_insert(error);
        }
    }
    first_failure.map_or(Ok(summary), Err)
}

/// Whole lines of an NDJSON file.
struct Block {
    /// Bytes of the file read up to the block's end (for progress).
    end: u64,
    bytes: Vec<u8>,
}

/// A block's events, ready for the log, and its bad lines (numbered from 1 within the
/// block: the file's numbers are known once the blocks before are counted).
struct Parsed {
    end: u64,
    /// Newlines in the block.
    lines: u64,
    events: Prepared,
    errors: Vec<LineError>,
}

/// Bytes per block: a few thousand typical events, one append each.
const BLOCK_BYTES: usize = 2 << 20;

/// Cuts the file into blocks of whole lines, in buffers the parsers hand back (`spare`).
fn read_blocks(
    mut file: std::fs::File,
    send: &mut dyn FnMut(Block) -> bool,
    spare: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<(), IngestError> {
    let mut end = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut bytes = spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK_BYTES + 4096));
        bytes.clear();
        bytes.append(&mut carry);
        let read = (&mut file)
            .take(BLOCK_BYTES as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| IngestError::Import(format!("reading: {e}")))?;
        end += read as u64;
        let whole = match memchr::memrchr(b'\n', &bytes) {
            _ if read == 0 => bytes.len(),
            Some(last) => last + 1,
            None => {
                // One line longer than a block so far: read on.
                carry = bytes;
                continue;
            }
        };
        carry.extend_from_slice(&bytes[whole..]);
        bytes.truncate(whole);
        if bytes.is_empty() {
            break;
        }
        let block = Block {
            end: end - carry.len() as u64,
            bytes,
        };
        if !send(block) {
            break;
        }
    }
    Ok(())
}

fn parse_block(block: &Block, received_ms: i64, mut events: Prepared) -> Parsed {
    // Records are smaller than their lines: one allocation when the batch is new, the
    // same size for every block so that a reused batch always has the room.
    let room = block.bytes.len().max(BLOCK_BYTES + 64 * 1024);
    events.reserve(room / 200, room);
    let mut errors = Vec::new();
    let mut numbers = PropertyNumbers::default();
    let (mut start, mut lines) = (0, 0);
    for end in memchr::memchr_iter(b'\n', &block.bytes).chain(std::iter::once(block.bytes.len())) {
        lines += 1;
        let line = &block.bytes[start..end];
        start = (end + 1).min(block.bytes.len());
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let fallback_id = || content_id(trimmed);
        match parse_import_line(
            trimmed,
            IMPORT_SOURCE,
            received_ms,
            &fallback_id,
            &mut numbers,
        ) {
            Ok(event) => events.push_read(&event, numbers.get()),
            Err(error) => reject(&mut errors, lines, error),
        }
    }
    Parsed {
        end: block.end,
        // The last end counted is the block's own end, not a newline.
        lines: lines - 1,
        events,
        errors,
    }
}

/// Parses an NDJSON file on every core and hands the blocks' events to `append` in file
/// order, with whether every line so far was good.
fn read_ndjson(
    ingest: &Ingest,
    file: std::fs::File,
    received_ms: i64,
    progress: &mut dyn FnMut(u64),
    append: &mut dyn FnMut(Prepared, bool) -> Result<(), IngestError>,
    errors: &mut Vec<LineError>,
) -> Result<(), IngestError> {
    // Parsed blocks hand their buffers back to the reader.
    let (spare_sender, spare_receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(32);
    let mut failure = None;
    // The file's line number where the next block starts.
    let mut first_line = 1u64;
    crate::pipeline::in_order(
        move |send| read_blocks(file, send, &spare_receiver),
        |block: Block| {
            let parsed = parse_block(&block, received_ms, ingest.batch());
            let _ = spare_sender.try_send(block.bytes);
            parsed
        },
        |parsed| {
            // After a failure the rest is still read for its bad lines, not appended.
            let clean = errors.is_empty() && parsed.errors.is_empty();
            for mut error in parsed.errors {
                if errors.len() < MAX_ERRORS {
                    error.line += first_line - 1;
                    errors.push(error);
                }
            }
            first_line += parsed.lines;
            if failure.is_none()
                && let Err(error) = append(parsed.events, clean)
            {
                failure = Some(error);
            }
            progress(parsed.end);
        },
    )?;
    failure.map_or(Ok(()), Err)
}

/// Serializes events on this thread and waits until the log has them.
pub fn append_blocking(
    ingest: &Ingest,
    events: Vec<StoredEvent>,
) -> Result<crate::Appended, IngestError> {
    let prepared: Prepared = events.iter().map(StoredEvent::as_ref).collect();
    ingest
        .append(prepared)
        .blocking_recv()
        .map_err(|_| IngestError::Stopped)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_are_read_as_warehouses_write_them() {
        let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap_or(jiff::tz::TimeZone::UTC);
        let nine_in_tokyo = Some(1_578_009_600_000);
        for written in [
            "2020-01-03T00:00:00Z",
            "2020-01-03T09:00:00+09:00",
            "2020-01-03 09:00:00",
            "2020-01-03T09:00",
            "1578009600",
            "1578009600000",
        ] {
            assert_eq!(event_time(written, &tokyo), nine_in_tokyo, "{written}");
        }
        assert_eq!(event_time("2020-01-03", &tokyo), Some(1_577_977_200_000));
        for refused in [
            "",
            "yesterday",
            "2020-13-01",
            "12345",
            "2020-01-03 25:00:00",
        ] {
            assert_eq!(event_time(refused, &tokyo), None, "{refused}");
        }
    }

    #[test]
    fn repeated_rows_get_ids_of_their_own_the_same_on_every_run() {
        let run = |rows: &[&str]| {
            let mut ids = RowIds::new();
            rows.iter()
                .map(|r| ids.id(r.as_bytes()))
                .collect::<Vec<_>>()
        };
        let first = run(&["a", "b", "a", "a"]);
        assert_eq!(
            first[0],
            content_id(b"a"),
            "a first occurrence keeps the old id"
        );
        let unique: std::collections::HashSet<&String> = first.iter().collect();
        assert_eq!(unique.len(), 4);
        assert_eq!(run(&["a", "b", "a", "a", "c"])[..4], first[..]);
    }

    #[test]
    fn columns_are_found_by_alias_or_mapping_and_never_twice() {
        let layout = CsvLayout::from_header(
            &["Time", "groupId", "userId", "Event Name", "page", "secret"],
            &CsvMapping {
                map: vec![("secret".into(), String::new())],
            },
        );
        assert_eq!(
            layout.ok(),
            Some(CsvLayout {
                account: 1,
                user: 2,
                event: 3,
                timestamp: 0,
                message_id: None,
                properties: vec![(4, "page".into())],
            })
        );
        let twice = CsvLayout::from_header(
            &["account_id", "groupId", "user_id", "event", "timestamp"],
            &CsvMapping::default(),
        );
        assert!(matches!(twice, Err(IngestError::Import(m)) if m.contains("both give account_id")));
    }
}
