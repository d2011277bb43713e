//! The event log: append-only segment files in `DATA_DIR/events/`, one record per event.
//!
//! A record is `[payload length: u32 LE][CRC-32 of sequence and payload: u32 LE]
//! [sequence: u64 LE][payload]`. Segments roll over at [`SEGMENT_BYTES`]. On open, the
//! last two segments are scanned (a write in flight spans at most two); a torn or corrupt
//! tail (a crash mid-write) is cut off at the last whole record and logged. A damaged
//! record in an older segment is found by the replay, which reads the whole log. Appends are written in one `write` and made durable
//! with one `fdatasync`, however many records they hold: that is the group commit.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use mikawaya_usage::Position;

/// A segment is closed and a new one started past this size.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const HEADER_BYTES: usize = 16;
/// No record is larger than this (a message is at most 32 KB, stored shape a little more).
const MAX_RECORD_BYTES: u32 = 1024 * 1024;

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file could not be read or written.
    #[error("event log io on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the log.
    #[error(
        "the event log in {0} is in use by another mikawaya process (stop the server, or send events to it over HTTP)"
    )]
    Locked(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

fn segment_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(format!("{segment:08}.seg"))
}

fn segments(dir: &Path) -> Result<Vec<u32>, LogError> {
    let mut found: Vec<u32> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".seg"))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    found.sort_unstable();
    Ok(found)
}

fn checksum(sequence: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Reads the next whole record; `Ok(None)` at a clean end, `Err(())` at a torn or corrupt one.
fn read_record(reader: &mut impl Read, buffer: &mut Vec<u8>) -> Result<Option<u64>, ()> {
    let mut header = [0u8; HEADER_BYTES];
    let mut filled = 0;
    while filled < HEADER_BYTES {
        match reader.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(()),
            Ok(n) => filled += n,
            Err(_) => return Err(()),
        }
    }
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let mut sequence_bytes = [0u8; 8];
    sequence_bytes.copy_from_slice(&header[8..16]);
    let sequence = u64::from_le_bytes(sequence_bytes);
    if length == 0 || length > MAX_RECORD_BYTES {
        return Err(());
    }
    buffer.resize(length as usize, 0);
    reader.read_exact(buffer).map_err(|_| ())?;
    if checksum(sequence, buffer) != crc {
        return Err(());
    }
    Ok(Some(sequence))
}

/// What recovery found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records in the log.
    pub records: u64,
    /// Bytes cut from a torn tail.
    pub truncated_bytes: u64,
    /// The next sequence number.
    pub next_sequence: u64,
    /// Bytes of an import that never finished (its process was killed), cut away.
    pub discarded_import_bytes: u64,
}

/// The file that says an import is under way, and where the log ended before it: while it
/// exists the import's records are not committed, and opening the log cuts them away.
const IMPORT_MARKER: &str = "IMPORT";

/// A place in the log to go back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    segment: u32,
    offset: u64,
    next_sequence: u64,
}

impl Mark {
    /// A mark at sequence `next_sequence` where the events are not in files (PostgreSQL).
    pub(crate) fn at_sequence(next_sequence: u64) -> Mark {
        Mark {
            segment: 0,
            offset: 0,
            next_sequence,
        }
    }

    /// The sequence number the next record gets.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }
}

/// The appending side of the log (one per data dir, held by one thread).
pub struct LogWriter {
    dir: PathBuf,
    file: File,
    segment: u32,
    offset: u64,
    next_sequence: u64,
    /// Framed records waiting for `write`, reused from append to append.
    buffer: Vec<u8>,
    /// Whether records were written to the current segment since its last sync here.
    unsynced: bool,
    /// Bytes written without a sync since the flusher was last asked for one.
    unflushed: u64,
    /// Started by the first append that need not be durable at once.
    flusher: Option<Flusher>,
    _lock: File,
}

/// Bytes an import writes between two background syncs: the disk keeps writing while
/// records keep coming, instead of all at the end.
const FLUSH_BYTES: u64 = 16 << 20;

/// Syncs segment files on a thread of its own while records keep being written, for
/// appends that need not be durable one by one (a file import: synced once, at its end).
/// A failed sync is kept and reported by the next [`LogWriter::sync`].
struct Flusher {
    requests: Option<std::sync::mpsc::Sender<Flush>>,
    failed: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum Flush {
    /// Sync this segment file.
    File(File, PathBuf),
    /// Answer once every sync asked before is done.
    Barrier(std::sync::mpsc::Sender<()>),
}

impl Flusher {
    fn start() -> std::io::Result<Self> {
        let (requests, receiver) = std::sync::mpsc::channel::<Flush>();
        let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let failures = std::sync::Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("ingest-log-flusher".into())
            .spawn(move || {
                for request in receiver {
                    match request {
                        Flush::File(file, path) => {
                            if let Err(error) = file.sync_data()
                                && let Ok(mut failed) = failures.lock()
                            {
                                failed
                                    .get_or_insert_with(|| format!("{}: {error}", path.display()));
                            }
                        }
                        Flush::Barrier(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(Self {
            requests: Some(requests),
            failed,
            thread: Some(thread),
        })
    }

    fn request(&self, request: Flush) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|requests| requests.send(request).is_ok())
    }

    /// Waits for the syncs asked so far; the first failure among them, if any.
    fn settle(&self, dir: &Path) -> Result<(), LogError> {
        let (done, wait) = std::sync::mpsc::channel();
        if self.request(Flush::Barrier(done)) {
            let _ = wait.recv();
        }
        let failure = self.failed.lock().ok().and_then(|mut failed| failed.take());
        match failure {
            Some(reason) => Err(LogError::Io {
                path: dir.to_owned(),
                source: std::io::Error::other(format!("a background sync failed: {reason}")),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Framed bytes handed to the kernel per `write` (the buffer is reused, so large group
/// commits do not allocate, and fault in, fresh memory).
const WRITE_CHUNK: usize = 1 << 20;

impl LogWriter {
    /// Opens the log in `dir` (created if needed), locks it against other processes,
    /// cuts a torn tail, and positions at the end.
    pub fn open(dir: &Path) -> Result<(LogWriter, Recovery), LogError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(LogError::Locked(dir.to_owned()));
        }
        let mut recovery = Recovery {
            discarded_import_bytes: discard_unfinished_import(dir)?,
            ..Recovery::default()
        };
        let existing = segments(dir)?;
        let mut buffer = Vec::new();
        // Only the last two segments can end torn (a group commit or a segment roll spans
        // at most two; an import's unsynced segments go with its marker), so only they
        // are read through; earlier ones only when those hold no record, to find the
        // last sequence number. Sequences run from 0 without gaps.
        let mut found_last = false;
        for (index, segment) in existing.iter().enumerate().rev() {
            if found_last && index + 2 < existing.len() {
                break;
            }
            let path = segment_path(dir, *segment);
            let file = File::open(&path).map_err(io(&path))?;
            let length = file.metadata().map_err(io(&path))?.len();
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut offset = 0u64;
            loop {
                match read_record(&mut reader, &mut buffer) {
                    Ok(Some(sequence)) => {
                        if !found_last {
                            recovery.next_sequence = recovery.next_sequence.max(sequence + 1);
                        }
                        offset += (HEADER_BYTES + buffer.len()) as u64;
                    }
                    Ok(None) => break,
                    Err(()) => {
                        let is_last = index + 1 == existing.len();
                        let cut = length - offset;
                        tracing::warn!(segment = %path.display(), offset, cut_bytes = cut, last_segment = is_last, "event log: torn or corrupt tail cut off");
                        let file = OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .map_err(io(&path))?;
                        file.set_len(offset).map_err(io(&path))?;
                        file.sync_all().map_err(io(&path))?;
                        recovery.truncated_bytes += cut;
                        break;
                    }
                }
            }
            found_last |= recovery.next_sequence > 0;
        }
        recovery.records = recovery.next_sequence;
        let segment = existing.last().copied().unwrap_or(1);
        let path = segment_path(dir, segment);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let offset = file.metadata().map_err(io(&path))?.len();
        if existing.is_empty() {
            sync_dir(dir)?;
        }
        Ok((
            LogWriter {
                dir: dir.to_owned(),
                file,
                segment,
                offset,
                next_sequence: recovery.next_sequence,
                buffer: Vec::with_capacity(WRITE_CHUNK + 64 * 1024),
                unsynced: false,
                unflushed: 0,
                flusher: None,
                _lock: lock,
            },
            recovery,
        ))
    }

    /// Appends records and makes them durable before returning; returns the sequence and
    /// position of each.
    pub fn append<P: AsRef<[u8]>>(
        &mut self,
        payloads: &[P],
    ) -> Result<Vec<(u64, Position)>, LogError> {
        let mut placed = Vec::with_capacity(payloads.len());
        self.append_into(payloads.iter().map(AsRef::as_ref), &mut placed, true)?;
        Ok(placed)
    }

    /// [`LogWriter::append`] into a list the caller keeps (cleared first; left empty when
    /// the append fails), so a steady writer allocates nothing per append. Unless
    /// `durable`, the records are written and synced in the background (every
    /// [`FLUSH_BYTES`]); they are durable after [`LogWriter::sync`] (or a later durable
    /// append, or a segment roll).
    pub fn append_into<'p>(
        &mut self,
        payloads: impl IntoIterator<Item = &'p [u8]>,
        placed: &mut Vec<(u64, Position)>,
        durable: bool,
    ) -> Result<(), LogError> {
        placed.clear();
        if self.offset >= SEGMENT_BYTES {
            self.roll()?;
        }
        let mut offset = self.offset;
        let path = segment_path(&self.dir, self.segment);
        let mut written: std::io::Result<()> = Ok(());
        self.buffer.clear();
        for payload in payloads {
            let sequence = self.next_sequence + placed.len() as u64;
            self.buffer
                .extend_from_slice(&(payload.len() as u32).to_le_bytes());
            self.buffer
                .extend_from_slice(&checksum(sequence, payload).to_le_bytes());
            self.buffer.extend_from_slice(&sequence.to_le_bytes());
            self.buffer.extend_from_slice(payload);
            placed.push((sequence, Position::new(self.segment, offset)));
            offset += (HEADER_BYTES + payload.len()) as u64;
            if self.buffer.len() >= WRITE_CHUNK {
                written = self.file.write_all(&self.buffer);
                self.buffer.clear();
                if written.is_err() {
                    break;
                }
            }
        }
        let written = written
            .and_then(|()| self.file.write_all(&self.buffer))
            .and_then(|()| {
                if durable {
                    self.file.sync_data()
                } else {
                    Ok(())
                }
            });
        self.buffer.clear();
        self.buffer.shrink_to(WRITE_CHUNK + 64 * 1024);
        if let Err(error) = written {
            // Leave no partial record behind for the next append to build on.
            let _ = self.file.set_len(self.offset);
            placed.clear();
            return Err(LogError::Io {
                path,
                source: error,
            });
        }
        let bytes = offset - self.offset;
        self.offset = offset;
        self.next_sequence += placed.len() as u64;
        if durable {
            self.unsynced = false;
            self.unflushed = 0;
        } else {
            self.unsynced = true;
            self.unflushed += bytes;
            if self.unflushed >= FLUSH_BYTES {
                self.unflushed = 0;
                self.flush_in_background(&path);
            }
        }
        Ok(())
    }

    /// Asks the flusher (started when first needed) to sync the current segment. When it
    /// cannot, the records simply wait for [`LogWriter::sync`].
    fn flush_in_background(&mut self, path: &Path) {
        if self.flusher.is_none() {
            match Flusher::start() {
                Ok(flusher) => self.flusher = Some(flusher),
                Err(error) => {
                    tracing::warn!(error = %error, "event log: no background flusher; records are synced at the end");
                    return;
                }
            }
        }
        if let (Some(flusher), Ok(file)) = (&self.flusher, self.file.try_clone()) {
            flusher.request(Flush::File(file, path.to_owned()));
        }
    }

    /// Makes every record written so far durable: waits for the background syncs (failing
    /// if one failed), then syncs the current segment.
    pub fn sync(&mut self) -> Result<(), LogError> {
        if let Some(flusher) = &self.flusher {
            flusher.settle(&self.dir)?;
        }
        if self.unsynced {
            let path = segment_path(&self.dir, self.segment);
            self.file.sync_data().map_err(io(&path))?;
            self.unsynced = false;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// Where the next record will go: what [`LogWriter::truncate_to`] goes back to.
    pub fn mark(&self) -> Mark {
        Mark {
            segment: self.segment,
            offset: self.offset,
            next_sequence: self.next_sequence,
        }
    }

    /// Records, durably, that an import begins at `mark`: until [`LogWriter::commit_import`]
    /// its records are not committed, and a log opened after a crash cuts them away.
    pub fn begin_import(&self, mark: Mark) -> Result<(), LogError> {
        let path = self.dir.join(IMPORT_MARKER);
        let text = format!("{} {} {}\n", mark.segment, mark.offset, mark.next_sequence);
        let written = File::create(&path).and_then(|mut file| {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
        });
        written.map_err(io(&path))?;
        sync_dir(&self.dir)
    }

    /// Commits the import in progress (its records must be durable already): the marker
    /// goes, durably.
    pub fn commit_import(&self) -> Result<(), LogError> {
        let path = self.dir.join(IMPORT_MARKER);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io(&path)(error)),
        }
    }

    /// Removes every record written since `mark` (later segments are deleted, the marked
    /// one cut back), durably. For an import that turned out bad: it never acknowledged
    /// anything.
    pub fn truncate_to(&mut self, mark: Mark) -> Result<(), LogError> {
        // Background syncs of what is being cut away no longer matter, nor whether they
        // failed.
        if let Some(flusher) = &self.flusher
            && let Err(error) = flusher.settle(&self.dir)
        {
            tracing::warn!(error = %error, "event log: a background sync of records now cut away had failed");
        }
        for segment in segments(&self.dir)? {
            if segment > mark.segment {
                let path = segment_path(&self.dir, segment);
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        let path = segment_path(&self.dir, mark.segment);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        file.set_len(mark.offset).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.segment = mark.segment;
        self.offset = mark.offset;
        self.next_sequence = mark.next_sequence;
        self.unsynced = false;
        self.unflushed = 0;
        self.commit_import()
    }

    fn roll(&mut self) -> Result<(), LogError> {
        self.sync()?;
        self.segment += 1;
        let path = segment_path(&self.dir, self.segment);
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        self.offset = 0;
        sync_dir(&self.dir)
    }

    /// Bytes on disk, all segments.
    pub fn bytes_on_disk(&self) -> u64 {
        bytes_on_disk(&self.dir)
    }
}

/// Whether another process holds the log in `dir` (its lock is taken).
pub fn is_locked(dir: &Path) -> bool {
    let Ok(lock) = OpenOptions::new().write(true).open(dir.join("LOCK")) else {
        return false;
    };
    lock.try_lock().is_err()
}

/// Total size of the segment files in `dir`.
pub fn bytes_on_disk(dir: &Path) -> u64 {
    segments(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|segment| std::fs::metadata(segment_path(dir, *segment)).ok())
        .map(|m| m.len())
        .sum()
}

/// Cuts away the records of an import whose marker is still there (its process died
/// before committing it): later segments go, the marked one is cut back. Returns the bytes
/// cut. A marker that cannot be read is an error (nothing is guessed).
fn discard_unfinished_import(dir: &Path) -> Result<u64, LogError> {
    let path = dir.join(IMPORT_MARKER);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(io(&path)(error)),
    };
    let numbers: Vec<u64> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let (Some(&segment), Some(&offset)) = (numbers.first(), numbers.get(1)) else {
        return Err(io(&path)(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the import marker '{}' is not 'SEGMENT OFFSET SEQUENCE'",
                text.trim()
            ),
        )));
    };
    let segment = u32::try_from(segment).unwrap_or(u32::MAX);
    let mut cut = 0;
    for later in segments(dir)? {
        let later_path = segment_path(dir, later);
        if later > segment {
            cut += std::fs::metadata(&later_path).map_or(0, |m| m.len());
            std::fs::remove_file(&later_path).map_err(io(&later_path))?;
        }
    }
    let marked = segment_path(dir, segment);
    if let Ok(metadata) = std::fs::metadata(&marked)
        && metadata.len() > offset
    {
        cut += metadata.len() - offset;
        let file = OpenOptions::new()
            .write(true)
            .open(&marked)
            .map_err(io(&marked))?;
        file.set_len(offset).map_err(io(&marked))?;
        file.sync_all().map_err(io(&marked))?;
    }
    std::fs::remove_file(&path).map_err(io(&path))?;
    sync_dir(dir)?;
    tracing::warn!(
        bytes = cut,
        "event log: an import that did not finish (its process stopped) was discarded whole"
    );
    Ok(cut)
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Calls `visit` with every whole record in order: sequence, position, payload.
pub fn scan(dir: &Path, visit: impl FnMut(u64, Position, &[u8])) -> Result<(), LogError> {
    scan_from(dir, None, visit)
}

/// [`scan`] from the record at `from` on (from the start without one).
pub fn scan_from(
    dir: &Path,
    from: Option<Position>,
    mut visit: impl FnMut(u64, Position, &[u8]),
) -> Result<(), LogError> {
    if !dir.exists() {
        return Ok(());
    }
    let mut buffer = Vec::new();
    for segment in segments(dir)? {
        let start = match from {
            Some(from) if segment < from.segment() => continue,
            Some(from) if segment == from.segment() => from.offset(),
            _ => 0,
        };
        let path = segment_path(dir, segment);
        let mut file = File::open(&path).map_err(io(&path))?;
        file.seek(SeekFrom::Start(start)).map_err(io(&path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut offset = start;
        while let Ok(Some(sequence)) = read_record(&mut reader, &mut buffer) {
            visit(sequence, Position::new(segment, offset), &buffer);
            offset += (HEADER_BYTES + buffer.len()) as u64;
        }
    }
    Ok(())
}

/// The sequence number and payload of the whole record at `position`, if there is one.
pub fn record_at(dir: &Path, position: Position) -> Result<Option<(u64, Vec<u8>)>, LogError> {
    let path = segment_path(dir, position.segment());
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io(&path)(error)),
    };
    file.seek(SeekFrom::Start(position.offset()))
        .map_err(io(&path))?;
    let mut payload = Vec::new();
    Ok(match read_record(&mut BufReader::new(file), &mut payload) {
        Ok(Some(sequence)) => Some((sequence, payload)),
        _ => None,
    })
}

/// Reads the records at the given positions (in the order given).
pub fn read_at(dir: &Path, positions: &[Position]) -> Result<Vec<Vec<u8>>, LogError> {
    let mut open: Option<(u32, File)> = None;
    let mut records = Vec::with_capacity(positions.len());
    let mut buffer = Vec::new();
    for position in positions {
        if open
            .as_ref()
            .is_none_or(|(segment, _)| *segment != position.segment())
        {
            let path = segment_path(dir, position.segment());
            open = Some((position.segment(), File::open(&path).map_err(io(&path))?));
        }
        if let Some((segment, file)) = open.as_mut() {
            let path = segment_path(dir, *segment);
            file.seek(SeekFrom::Start(position.offset()))
                .map_err(io(&path))?;
            if let Ok(Some(_)) = read_record(file, &mut buffer) {
                records.push(buffer.clone());
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
        result.unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn all(dir: &Path) -> Vec<(u64, Vec<u8>)> {
        let mut records = Vec::new();
        ok(scan(dir, |sequence, _, payload| {
            records.push((sequence, payload.to_vec()))
        }));
        records
    }

    #[test]
    fn records_survive_a_reopen_in_order() {
        let dir = ok(tempfile::tempdir());
        {
            let (mut log, recovery) = ok(LogWriter::open(dir.path()));
            assert_eq!(recovery, Recovery::default());
            ok(log.append(&[b"one".to_vec(), b"two".to_vec()]));
            ok(log.append(&[b"three".to_vec()]));
        }
        let (mut log, recovery) = ok(LogWriter::open(dir.path()));
        assert_eq!(
            (
                recovery.records,
                recovery.next_sequence,
                recovery.truncated_bytes
            ),
            (3, 3, 0)
        );
        let placed = ok(log.append(&[b"four".to_vec()]));
        assert_eq!(placed[0].0, 3);
        assert_eq!(
            all(dir.path())
                .iter()
                .map(|(s, p)| (*s, String::from_utf8_lossy(p).into_owned()))
                .collect::<Vec<_>>(),
            vec![
                (0, "one".to_owned()),
                (1, "two".to_owned()),
                (2, "three".to_owned()),
                (3, "four".to_owned())
            ]
        );
        assert_eq!(
            ok(read_at(dir.path(), &[placed[0].1])),
            vec![b"four".to_vec()]
        );
    }

    #[test]
    fn appends_synced_in_the_background_are_all_there_after_a_sync_and_a_segment_roll() {
        let dir = ok(tempfile::tempdir());
        // 70 MiB in 64 KiB records: several background syncs and one segment roll.
        let record = |n: u32| {
            let mut payload = n.to_le_bytes().to_vec();
            payload.resize(64 << 10, (n % 251) as u8);
            payload
        };
        let count = 1120u32;
        {
            let (mut log, _) = ok(LogWriter::open(dir.path()));
            let mut placed = Vec::new();
            for chunk in (0..count).collect::<Vec<_>>().chunks(40) {
                let payloads: Vec<Vec<u8>> = chunk.iter().map(|n| record(*n)).collect();
                ok(log.append_into(payloads.iter().map(Vec::as_slice), &mut placed, false));
                assert_eq!(placed.len(), chunk.len());
            }
            assert!(log.flusher.is_some(), "the background flusher was used");
            assert!(log.unsynced);
            ok(log.sync());
            assert!(!log.unsynced);
            assert!(log.segment >= 2, "the log rolled over to a second segment");
        }
        let records = all(dir.path());
        assert_eq!(records.len(), count as usize);
        for (index, (sequence, payload)) in records.iter().enumerate() {
            assert_eq!(*sequence, index as u64);
            assert_eq!(payload, &record(index as u32));
        }
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_continue_after_it() {
        let dir = ok(tempfile::tempdir());
        {
            let (mut log, _) = ok(LogWriter::open(dir.path()));
            ok(log.append(&[b"whole".to_vec(), b"also whole".to_vec()]));
        }
        let path = segment_path(dir.path(), 1);
        let whole = ok(std::fs::metadata(&path)).len();
        // A crash mid-write: a header promising more bytes than follow.
        let mut file = ok(OpenOptions::new().append(true).open(&path));
        ok(file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 2, 0, 0, 0, 0, 0, 0, 0, b'x']));
        drop(file);
        let (mut log, recovery) = ok(LogWriter::open(dir.path()));
        assert_eq!((recovery.records, recovery.truncated_bytes), (2, 17));
        assert_eq!(ok(std::fs::metadata(&path)).len(), whole);
        ok(log.append(&[b"after".to_vec()]));
        assert_eq!(all(dir.path()).len(), 3);
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let dir = ok(tempfile::tempdir());
        {
            let (mut log, _) = ok(LogWriter::open(dir.path()));
            ok(log.append(&[b"first".to_vec(), b"second".to_vec()]));
        }
        let path = segment_path(dir.path(), 1);
        let mut bytes = ok(std::fs::read(&path));
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        ok(std::fs::write(&path, bytes));
        let (_, recovery) = ok(LogWriter::open(dir.path()));
        assert_eq!(recovery.records, 1);
        assert_eq!(all(dir.path()).len(), 1);
    }

    #[test]
    fn a_second_writer_is_refused() {
        let dir = ok(tempfile::tempdir());
        let _first = ok(LogWriter::open(dir.path()));
        assert!(matches!(
            LogWriter::open(dir.path()),
            Err(LogError::Locked(_))
        ));
    }
}
