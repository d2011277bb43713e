//! A snapshot of the rollups and the de-duplication keys beside the log
//! (`events/ROLLUPS`), so a start reads it and replays only the records after it instead
//! of the whole log.
//!
//! The file: `MKWROLL2`, then frames (`[length: u64 LE][bytes]`): what it covers (the
//! time zone, the last record's sequence, position and payload hash, the store's identity
//! checkpoint, the key count), the rollups' frames (`Rollups::to_frames`), the keys (raw,
//! 12 bytes each, a million a frame); then the XXH3-64 of everything before it.
//!
//! It is used only when all of this holds, else the log is replayed whole (and a fresh
//! snapshot written later); a snapshot is never trusted over the log:
//! - the same format, time zone and property filters (a snapshot without a filter a
//!   metric now names is not used);
//! - the log still has the record it ends with, at the same place, with the same bytes (a
//!   log cut back, by a rolled-back import or by hand, does not);
//! - the store has applied the identity changes up to it (its checkpoint is not behind
//!   the one the snapshot saw: a store restored from an older backup is);
//! - every byte checks out.
//!
//! It is written by the writer thread only while nothing is waiting to be applied and no
//! import is under way, to a temporary file that is synced and then renamed over the old
//! one, so a crash leaves the old snapshot or the new one, never half of one.

use crate::filter::EventFilter;
use crate::log::{self, Position};
use crate::rollup::{BadSnapshot, Rollups};
use crate::seen::{Key, Seen};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const FILE: &str = "ROLLUPS";
const PARTIAL: &str = "ROLLUPS.partial";
const MAGIC: &[u8; 8] = b"MKWROLL2";
/// Keys per frame.
const KEYS_PER_FRAME: usize = 1 << 20;
/// No frame is larger (a frame holds 128 accounts or a million keys).
const MAX_FRAME: u64 = 1 << 32;

/// Removes the snapshot in `dir`, if any.
pub(crate) fn discard(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(FILE)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// What a snapshot covers and the state it was made in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cover {
    pub time_zone: String,
    /// The last record in it.
    pub sequence: u64,
    pub position: Position,
    /// XXH3-64 of that record's payload.
    pub record_hash: u64,
    /// The store's identity checkpoint when it was made.
    pub identity_through: Option<u64>,
    /// De-duplication keys.
    pub keys: u64,
}

/// A snapshot read back.
pub(crate) struct Restored {
    pub rollups: Rollups,
    pub seen: Seen,
    pub cover: Cover,
}

/// The name a time zone is known by in a snapshot.
pub(crate) fn zone_name(zone: &jiff::tz::TimeZone) -> String {
    zone.iana_name()
        .map_or_else(|| format!("{zone:?}"), str::to_owned)
}

/// What [`Cover`] a snapshot of `rollups` made now would have (none for empty rollups).
pub(crate) fn cover_of(
    dir: &Path,
    rollups: &Rollups,
    keys: usize,
    identity_through: Option<u64>,
    time_zone: &str,
) -> Result<Option<Cover>, String> {
    cover_with(rollups, keys, identity_through, time_zone, |position| {
        log::record_at(dir, position)
            .map_err(|error| error.to_string())
            .map(|found| found.map(|(_, payload)| payload))
    })
}

/// [`cover_of`] with the record's payload read by `payload_at`, where the events are.
pub(crate) fn cover_with(
    rollups: &Rollups,
    keys: usize,
    identity_through: Option<u64>,
    time_zone: &str,
    payload_at: impl FnOnce(Position) -> Result<Option<Vec<u8>>, String>,
) -> Result<Option<Cover>, String> {
    let Some((sequence, position)) = rollups.last_record() else {
        return Ok(None);
    };
    let payload = payload_at(position)?.ok_or("the last record applied is not in the log")?;
    Ok(Some(Cover {
        time_zone: time_zone.to_owned(),
        sequence,
        position,
        record_hash: xxh3_64(&payload),
        identity_through,
        keys: keys as u64,
    }))
}

struct FrameWriter<W: Write> {
    out: W,
    hasher: Xxh3,
    bytes: u64,
}

impl<W: Write> FrameWriter<W> {
    fn put(&mut self, frame: &[u8]) -> std::io::Result<()> {
        let length = (frame.len() as u64).to_le_bytes();
        self.out.write_all(&length)?;
        self.out.write_all(frame)?;
        self.hasher.update(&length);
        self.hasher.update(frame);
        self.bytes += 8 + frame.len() as u64;
        Ok(())
    }
}

/// Writes the snapshot of `rollups` and `seen` covering `cover`; returns its size in bytes.
pub(crate) fn save(
    dir: &Path,
    rollups: &Rollups,
    seen: &mut Seen,
    cover: &Cover,
) -> Result<u64, String> {
    let partial = dir.join(PARTIAL);
    let written = write(&partial, rollups, seen, cover).and_then(|bytes| {
        std::fs::rename(&partial, dir.join(FILE))?;
        File::open(dir)?.sync_all()?;
        Ok(bytes)
    });
    written.map_err(|error| {
        let _ = std::fs::remove_file(&partial);
        error.to_string()
    })
}

fn write(path: &Path, rollups: &Rollups, seen: &mut Seen, cover: &Cover) -> std::io::Result<u64> {
    let file = File::create(path)?;
    let (file, bytes) = write_to(
        BufWriter::with_capacity(4 << 20, file),
        rollups,
        seen,
        cover,
    )?;
    file.into_inner()
        .map_err(|error| error.into_error())?
        .sync_all()?;
    Ok(bytes)
}

/// Writes the snapshot to `out`; gives it back with the bytes written.
pub(crate) fn write_to<W: Write>(
    out: W,
    rollups: &Rollups,
    seen: &mut Seen,
    cover: &Cover,
) -> std::io::Result<(W, u64)> {
    let mut frames = FrameWriter {
        out,
        hasher: Xxh3::new(),
        bytes: 8,
    };
    frames.out.write_all(MAGIC)?;
    frames.hasher.update(MAGIC);
    let encoded = postcard::to_stdvec(cover).map_err(std::io::Error::other)?;
    frames.put(&encoded)?;
    rollups.to_frames(|frame| frames.put(frame).map_err(Failed::Io))?;
    let mut raw = Vec::with_capacity(KEYS_PER_FRAME * Key::BYTES);
    for keys in seen.sorted().chunks(KEYS_PER_FRAME) {
        raw.clear();
        for key in keys {
            raw.extend_from_slice(&key.to_bytes());
        }
        frames.put(&raw)?;
    }
    let digest = frames.hasher.digest().to_le_bytes();
    frames.out.write_all(&digest)?;
    Ok((frames.out, frames.bytes + 8))
}

/// A failure while writing or reading frames.
#[derive(Debug)]
enum Failed {
    Io(std::io::Error),
    Bad(BadSnapshot),
}

impl From<BadSnapshot> for Failed {
    fn from(bad: BadSnapshot) -> Self {
        Failed::Bad(bad)
    }
}

impl From<Failed> for std::io::Error {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Io(error) => error,
            Failed::Bad(bad) => std::io::Error::other(bad),
        }
    }
}

struct FrameReader<R: Read> {
    input: R,
    hasher: Xxh3,
}

impl<R: Read> FrameReader<R> {
    fn next(&mut self, buffer: &mut Vec<u8>) -> Result<(), BadSnapshot> {
        let mut length = [0u8; 8];
        let cut = |_| BadSnapshot::new("it ends early");
        self.input.read_exact(&mut length).map_err(cut)?;
        let size = u64::from_le_bytes(length);
        if size > MAX_FRAME {
            return Err(BadSnapshot::new("a frame is too large"));
        }
        buffer.resize(size as usize, 0);
        self.input.read_exact(buffer).map_err(cut)?;
        self.hasher.update(&length);
        self.hasher.update(buffer);
        Ok(())
    }
}

/// The snapshot in `dir`, when there is one that can be used with this log, time zone,
/// filters and identity checkpoint; why not, otherwise (none when there is no snapshot).
pub(crate) fn load(
    dir: &Path,
    time_zone: &jiff::tz::TimeZone,
    filters: &[EventFilter],
    identity_through: Option<u64>,
    keys_too: bool,
) -> Result<Option<Restored>, BadSnapshot> {
    let file = match File::open(dir.join(FILE)) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(BadSnapshot::new(error.to_string())),
    };
    read_from(
        BufReader::with_capacity(4 << 20, file),
        time_zone,
        filters,
        identity_through,
        keys_too,
        |position| log::record_at(dir, position).ok().flatten(),
    )
    .map(Some)
}

/// A snapshot read from `input`, when it fits (see [`load`]); `record_at` gives the
/// sequence and payload of the record at a position, where the events are.
pub(crate) fn read_from<R: Read>(
    input: R,
    time_zone: &jiff::tz::TimeZone,
    filters: &[EventFilter],
    identity_through: Option<u64>,
    keys_too: bool,
    record_at: impl FnOnce(Position) -> Option<(u64, Vec<u8>)>,
) -> Result<Restored, BadSnapshot> {
    let mut frames = FrameReader {
        input,
        hasher: Xxh3::new(),
    };
    let mut magic = [0u8; 8];
    frames
        .input
        .read_exact(&mut magic)
        .map_err(|_| BadSnapshot::new("it is empty"))?;
    if &magic != MAGIC {
        return Err(BadSnapshot::new("it is of another format"));
    }
    frames.hasher.update(&magic);
    let mut buffer = Vec::new();
    frames.next(&mut buffer)?;
    let cover: Cover =
        postcard::from_bytes(&buffer).map_err(|error| BadSnapshot::new(error.to_string()))?;
    if cover.time_zone != zone_name(time_zone) {
        return Err(BadSnapshot::new(format!(
            "it counts days in {}, the data dir in {}",
            cover.time_zone,
            zone_name(time_zone)
        )));
    }
    if identity_through < cover.identity_through {
        return Err(BadSnapshot::new(
            "the store has not applied the identity changes it covers",
        ));
    }
    match record_at(cover.position) {
        Some((sequence, payload))
            if sequence == cover.sequence && xxh3_64(&payload) == cover.record_hash => {}
        _ => {
            return Err(BadSnapshot::new(format!(
                "the log no longer has its last record ({}) as it was",
                cover.sequence
            )));
        }
    }
    let rollups = Rollups::from_frames(time_zone.clone(), filters, |buffer| frames.next(buffer))?;
    if rollups.last_record() != Some((cover.sequence, cover.position)) {
        return Err(BadSnapshot::new("its rollups end elsewhere than it says"));
    }
    // Without `keys_too` (a reader that appends nothing) the keys are read and checked,
    // not kept.
    let mut keys = Vec::with_capacity(if keys_too { cover.keys as usize } else { 0 });
    let mut counted = 0u64;
    while counted < cover.keys {
        frames.next(&mut buffer)?;
        if buffer.is_empty() || buffer.len() % Key::BYTES != 0 {
            return Err(BadSnapshot::new("a frame of keys is damaged"));
        }
        counted += (buffer.len() / Key::BYTES) as u64;
        if keys_too {
            keys.extend(buffer.chunks_exact(Key::BYTES).filter_map(Key::from_bytes));
        }
    }
    let mut digest = [0u8; 8];
    frames
        .input
        .read_exact(&mut digest)
        .map_err(|_| BadSnapshot::new("it ends early"))?;
    if u64::from_le_bytes(digest) != frames.hasher.digest() || counted != cover.keys {
        return Err(BadSnapshot::new("its checksum does not match"));
    }
    Ok(Restored {
        rollups,
        seen: Seen::from_keys(keys),
        cover,
    })
}
