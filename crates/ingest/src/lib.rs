//! Usage data in: the durable event log, the threads that write it and apply it to the usage
//! engine's rollups (`mikawaya-usage`), file import, Parquet export and the identity changes
//! written back to the store. This crate is the "in" edge for product usage; it knows no
//! HTTP.
//!
//! Threads: [`Ingest::open`] replays the log into the rollups, then starts two threads.
//! - The **writer** owns the log and the set of seen message ids. It takes every append
//!   waiting in its queue, drops duplicates, writes the rest in one `write` and one
//!   `fdatasync` (group commit), and only then answers each caller: an acknowledged message
//!   is on disk. It hands what it wrote to the applier.
//! - The **applier** updates the in-memory rollups and pushes identity changes (account
//!   traits from `group`, contact traits from `identify`) into the store, recording in the
//!   store how far it got so a restart does not apply them again.
//!
//! Readers wait until the applier has caught up with everything acknowledged before they
//! read, so a client reads its own writes.
//!
//! See `docs/usage.md` and ADR 0003 (`docs/adr/0003-event-log.md`).
//!
//! Invariants:
//! - A message is acknowledged only after the `fdatasync` that made it durable; a failed
//!   append acknowledges nothing and forgets its de-duplication keys. A file import's appends
//!   are synced in the background (every 16 MiB) and once at its end, before it reports
//!   anything; a failed sync fails and rolls back the import.
//! - The scanner (`scan.rs`) never decides alone: whatever it accepts, serde_json accepts
//!   with the same fields (tested on generated and damaged messages); whatever it gives up on
//!   is parsed by serde_json, which words the errors.
//! - A file import reads each message's numeric properties while it parses the line and hands
//!   them to the applier in the batch (`PropertyNumbers`, `Prepared::push_read`); everything
//!   else (the API, a replay) reads them from the stored text with
//!   `EventRef::numeric_properties`. Both are the same scanner on the same text, and the
//!   import reads them only where `numeric_properties` would use the scanner (no backslash in
//!   the properties), so live rollups and a replay's agree (tested on damaged messages and by
//!   an import compared with its replay).
//! - The log is the only truth: rollups are rebuilt from it on every start, and nothing else
//!   writes it.
//! - Many events are applied as one run (`Rollups::run`: a replay, each group the applier
//!   takes): names, identity, the catalogue and users' days are done in log order, and what
//!   each event adds to its account is put off and done account by account when the run ends,
//!   each account's additions in the order they were made. The rollups are then the same as
//!   applying the events one by one, down to the bits of every sum (tested), and a run ends
//!   before the applier lets go of the write lock, so no reader sees it half done.
//! - The rollups keep an aggregate for every property filter a stored metric names; a filter
//!   first seen after start is filled in by rebuilding the rollups from the log (under the
//!   write lock, so no read sees it half-filled).
//! - The same write key and `messageId` are stored once.
//! - A file import is one undoable unit: its identity changes wait for its end, and a bad
//!   line cuts the log back to the import's start (refused if anything else appended
//!   meanwhile), rebuilds the rollups and the de-duplication set from the log, and drops the
//!   held changes.
//! - Replay (start, rebuild, rollback) hands events to the rollups in log order, whatever the
//!   number of threads decoding the records.
//! - A record's payload is either the binary layout (`0xB1` first) or, in logs written before
//!   it, a JSON object (`{` first); both are read everywhere (replay, raw events, export),
//!   and only the binary layout is written.
//! - Knows no HTTP: the server passes bytes and a receive time in, and awaits an
//!   `AppendReply`.

#[cfg(feature = "parquet")]
pub mod export;
pub mod identity;
pub mod import;
pub mod log;
mod pg;

pub use pg::{EventsCopy, copy_events};
mod pipeline;
mod seen;
mod snapshot;

use mikawaya_usage::{filter, message, record, rollup};

use crate::filter::EventFilter;
use crate::log::{LogError, LogWriter, Position};
use crate::message::{EventRef, StoredEvent};
use crate::rollup::Rollups;
use crate::seen::Seen;
use mikawaya_store::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, RwLock};

/// Errors of the ingest crate.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A stored record could not be read back.
    #[error("event log record {sequence} is unreadable: {reason}")]
    Corrupt {
        /// Its sequence number.
        sequence: u64,
        /// Why.
        reason: String,
    },
    /// The log could not be written (nothing of the append was kept or acknowledged).
    #[error("the event log could not be written: {reason}")]
    NotWritten {
        /// Why, with its causes.
        reason: String,
        /// Whether the disk is full (room made, the same append succeeds).
        disk_full: bool,
    },
    /// The store refused identity updates or checkpoints.
    #[error(transparent)]
    Store(#[from] mikawaya_store::StoreError),
    /// The writer or applier thread is gone.
    #[error("the ingest service has stopped")]
    Stopped,
    /// The log was opened for reading beside the process that holds it.
    #[error(
        "the event log is read as it stands beside the running server; send events to the server over HTTP, or stop it to write here"
    )]
    ReadOnly,
    /// An import file is bad.
    #[error("{0}")]
    Import(String),
}

/// Settings of the ingest service.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Days are counted in this time zone (default UTC; Asia/Tokyo is common).
    pub time_zone: jiff::tz::TimeZone,
    /// The live API accepts events at most this many days older than their receipt
    /// (default 30). History goes in with `mikawaya import events`, which has no window.
    pub late_days: u32,
    /// The live API accepts events at most this many hours ahead of the server clock
    /// (default 24).
    pub future_hours: u32,
    /// A snapshot of the rollups is written (at the end of an import, at shutdown, when
    /// asked) once at least this many records were written since the last one (default
    /// 100,000: replaying fewer takes well under a second).
    pub snapshot_after_records: u64,
    /// Keep the events in this PostgreSQL database (the store's) instead of the data
    /// dir's log: every node appends there and reads what every node appended.
    pub postgres_url: Option<String>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            time_zone: jiff::tz::TimeZone::UTC,
            late_days: 30,
            future_hours: 24,
            snapshot_after_records: 100_000,
            postgres_url: None,
        }
    }
}

/// Removes the rollups' snapshot of a data dir (when there is one), so the next start
/// replays the whole log.
pub fn discard_snapshot(data_dir: &Path) -> Result<(), IngestError> {
    snapshot::discard(&log_dir(data_dir)).map_err(|source| {
        IngestError::Log(LogError::Io {
            path: log_dir(data_dir),
            source,
        })
    })
}

/// Whether another process holds the event log of a data dir (a running server).
pub fn is_held(data_dir: &Path) -> bool {
    log::is_locked(&log_dir(data_dir))
}

/// The event log folder inside a data dir.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("events")
}

/// The dedupe key of a message: its sender's write key and message id, hashed to 128
/// bits with XXH3 (fast, and wide enough that two different messages never collide in
/// practice: about 10^-20 for ten billion messages).
fn dedupe_key(source: u32, message_id: &str) -> u128 {
    // Typical ids fit a buffer on the stack; longer ones (up to 1 KiB) take the heap.
    let mut short = [0u8; 68];
    let length = 4 + message_id.len();
    let mut long = Vec::new();
    let bytes = if length <= short.len() {
        &mut short[..length]
    } else {
        long.resize(length, 0);
        &mut long[..]
    };
    bytes[..4].copy_from_slice(&source.to_le_bytes());
    bytes[4..].copy_from_slice(message_id.as_bytes());
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Events encoded for the log, back to back in one buffer, each with its dedupe key.
/// Built by the caller's thread (off the writer); the writer copies the records it keeps
/// and the applier reads the events back from the same buffer.
#[derive(Debug, Default)]
pub struct Prepared {
    bytes: Vec<u8>,
    /// Each record's dedupe key and the end of its payload in `bytes` (it starts where
    /// the one before ended).
    records: Vec<(u128, usize)>,
    /// Filled by the writer for the applier: the indexes of the records it kept (not
    /// already in the log), and where each of those went, in the same order.
    kept: Vec<usize>,
    placed: Vec<(u64, Position)>,
    /// Per record, where its numeric properties are in `numbers` when they were read with
    /// the message (file imports), so that the applier need not read them again.
    read: Vec<Option<(usize, usize)>>,
    /// Numeric properties: where the name is in `names`, and the value.
    numbers: Vec<(usize, usize, f64)>,
    names: String,
}

impl Prepared {
    /// Encodes one more event.
    pub fn push(&mut self, event: &EventRef<'_>) {
        self.push_read(event, None);
    }

    /// Encodes one more event, with its numeric properties when they were read with it
    /// ([`message::PropertyNumbers`]).
    pub fn push_read(&mut self, event: &EventRef<'_>, numbers: Option<&[(&str, f64)]>) {
        record::encode(event, &mut self.bytes);
        self.records.push((
            dedupe_key(event.source, &event.message_id),
            self.bytes.len(),
        ));
        self.read.push(numbers.map(|numbers| {
            let first = self.numbers.len();
            for (name, value) in numbers {
                let start = self.names.len();
                self.names.push_str(name);
                self.numbers.push((start, self.names.len(), *value));
            }
            (first, self.numbers.len())
        }));
    }

    /// The numeric properties of record `index`, when they were read with the message.
    fn numbers(&self, index: usize) -> Option<impl Iterator<Item = (&str, f64)>> {
        let (first, end) = (*self.read.get(index)?)?;
        Some(
            self.numbers
                .get(first..end)
                .unwrap_or(&[])
                .iter()
                .map(|(start, end, value)| (self.names.get(*start..*end).unwrap_or(""), *value)),
        )
    }

    /// Bytes of encoded events held.
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Makes room for about `events` more events of `bytes` bytes in all.
    pub fn reserve(&mut self, events: usize, bytes: usize) {
        self.bytes.reserve(bytes);
        self.records.reserve(events);
        self.read.reserve(events);
    }

    /// Empties it, keeping its memory.
    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.kept.clear();
        self.placed.clear();
        self.read.clear();
        self.numbers.clear();
        self.names.clear();
    }

    /// Adds a record read back from where the events are kept, kept and placed as read
    /// (for the applier).
    fn push_stored(&mut self, payload: &[u8], placed: (u64, Position)) {
        self.bytes.extend_from_slice(payload);
        self.records.push((0, self.bytes.len()));
        self.read.push(None);
        self.kept.push(self.records.len() - 1);
        self.placed.push(placed);
    }

    /// The payload of record `index`.
    fn payload(&self, index: usize) -> &[u8] {
        let start = index
            .checked_sub(1)
            .map_or(0, |before| self.records[before].1);
        &self.bytes[start..self.records[index].1]
    }
}

impl<'a> FromIterator<EventRef<'a>> for Prepared {
    fn from_iter<I: IntoIterator<Item = EventRef<'a>>>(events: I) -> Self {
        let mut prepared = Prepared::default();
        for event in events {
            prepared.push(&event);
        }
        prepared
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Appended {
    /// Messages written now.
    pub accepted: u64,
    /// Messages already in the log (same write key and message id), not written again.
    pub duplicates: u64,
    /// The highest sequence number written so far (for read-your-writes).
    pub sequence: u64,
}

/// The answer to an append, delivered once the records are on disk.
pub type AppendReply = tokio::sync::oneshot::Receiver<Result<Appended, IngestError>>;

struct Append {
    batch: Prepared,
    /// Part of the file import in progress.
    import: bool,
    reply: tokio::sync::oneshot::Sender<Result<Appended, IngestError>>,
}

/// What the writer thread is asked to do.
enum Command {
    /// Write events (group-committed with the appends queued behind it). Boxed: a batch
    /// is much larger than the other commands.
    Append(Box<Append>),
    /// Start a file import: answer where the log ends now.
    BeginImport(
        usize,
        std::sync::mpsc::Sender<Result<log::Mark, IngestError>>,
    ),
    /// End an import that went well: make its records durable (its appends were written
    /// and synced in the background), answering whether that worked.
    EndImport(std::sync::mpsc::Sender<Result<(), IngestError>>),
    /// Undo an import: cut the log back to its mark and forget its message ids.
    Rollback(std::sync::mpsc::Sender<Result<(), IngestError>>),
    /// Write a snapshot of the rollups when enough was written since the last one,
    /// answering whether it did.
    Snapshot(std::sync::mpsc::Sender<Result<bool, IngestError>>),
}

/// Progress shared between threads: how far the log and the rollups are.
#[derive(Default)]
struct Progress {
    /// Next sequence the writer will assign (everything below is acknowledged).
    written: u64,
    /// Next sequence the applier expects (everything below is in the rollups).
    applied: u64,
}

struct Shared {
    /// `fdatasync` calls made by the writer (each is one group commit).
    syncs: std::sync::atomic::AtomicU64,
    rollups: RwLock<Rollups>,
    progress: Mutex<Progress>,
    /// Identity changes applied to the rollups but not yet to the store.
    identity: Mutex<identity::Pending>,
    /// Set during a file import: identity changes wait for its end.
    hold_identity: std::sync::atomic::AtomicBool,
    caught_up: Condvar,
    dir: PathBuf,
    /// Batches the applier is done with, emptied, for the next ones to reuse (a bulk
    /// import then does not fault in fresh memory for every block).
    spare: Mutex<Vec<Prepared>>,
    /// The last record the newest snapshot of the rollups covers.
    snapshot: Mutex<Option<u64>>,
    /// The events' PostgreSQL tables, when they are there instead of `dir`.
    pg: Option<Arc<pg::PgEvents>>,
}

impl Shared {
    /// The state of a log opened at `next_sequence`, its rollups read (the snapshot's
    /// cover, if one was read).
    fn new(
        rollups: Rollups,
        dir: PathBuf,
        next_sequence: u64,
        covered: Option<(u64, Position)>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            syncs: std::sync::atomic::AtomicU64::new(0),
            rollups: RwLock::new(rollups),
            identity: Mutex::new(identity::Pending::default()),
            hold_identity: std::sync::atomic::AtomicBool::new(false),
            progress: Mutex::new(Progress {
                written: next_sequence,
                applied: next_sequence,
            }),
            caught_up: Condvar::new(),
            dir,
            spare: Mutex::new(Vec::new()),
            snapshot: Mutex::new(covered.map(|(through, _)| through)),
            pg: None,
        })
    }

    /// The same, with the events in PostgreSQL (before any other thread holds it).
    fn with_postgres(mut self: Arc<Self>, events: Arc<pg::PgEvents>) -> Arc<Self> {
        if let Some(state) = Arc::get_mut(&mut self) {
            state.pg = Some(events);
        }
        self
    }

    /// Fresh `rollups` with every record up to sequence `last` applied, from wherever the
    /// events are.
    fn rebuild(&self, rollups: Rollups, last: u64) -> Result<Rollups, IngestError> {
        match &self.pg {
            Some(events) => rebuild_from_postgres(events, rollups, last),
            None => rebuild(&self.dir, rollups, last, None),
        }
    }
}

/// Emptied batches kept for reuse at most.
const SPARE_BATCHES: usize = 16;

/// The running ingest service.
pub struct Ingest {
    shared: Arc<Shared>,
    appends: Mutex<Option<Sender<Command>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    config: IngestConfig,
    store: Arc<dyn Store>,
    /// Set by [`Ingest::shutdown`]: long jobs reading the rollups stop at their next step.
    stopping: std::sync::atomic::AtomicBool,
    /// Opened beside the log's holder: nothing is written.
    read_only: bool,
    /// With the events in PostgreSQL: wakes the tail thread (a read found events other
    /// nodes appended).
    tail: Mutex<Option<Sender<()>>>,
}

/// The property filters the stored metric definitions name.
fn stored_filters(store: &dyn Store) -> Result<Vec<EventFilter>, IngestError> {
    let mut filters: Vec<EventFilter> = Vec::new();
    for (_, spec) in store.list_metrics()? {
        let Ok(spec) = serde_json::from_str::<serde_json::Value>(&spec) else {
            continue;
        };
        for filter in EventFilter::in_metric_spec(&spec) {
            if !filters.contains(&filter) {
                filters.push(filter);
            }
        }
    }
    Ok(filters)
}

/// Store key of the identity checkpoint.
const CHECKPOINT_KEY: &str = "ingest.identity_applied_through";

/// The last log record whose identity changes the store has (none before the first).
fn identity_checkpoint(store: &dyn Store) -> Result<Option<u64>, IngestError> {
    Ok(store.get_meta(CHECKPOINT_KEY)?.and_then(|v| v.parse().ok()))
}

impl Ingest {
    /// Opens the log in `data_dir/events`, replays it into fresh rollups, applies identity
    /// changes the store has not seen, and starts the writer and applier threads.
    pub fn open(
        data_dir: &Path,
        config: IngestConfig,
        store: Arc<dyn Store>,
    ) -> Result<Ingest, IngestError> {
        if let Some(url) = config.postgres_url.clone() {
            return Self::open_postgres(data_dir, &url, config, store, false);
        }
        let dir = log_dir(data_dir);
        let (writer, recovery) = LogWriter::open(&dir)?;
        if recovery.truncated_bytes > 0 {
            tracing::warn!(
                bytes = recovery.truncated_bytes,
                "event log: a torn tail from a crash was cut off"
            );
        }
        let Loaded {
            rollups,
            seen,
            covered,
            mut pending,
            ..
        } = load(&dir, &config, store.as_ref(), Some(recovery.records))?;
        identity::apply(store.as_ref(), &mut pending, CHECKPOINT_KEY)?;
        let shared = Shared::new(rollups, dir, recovery.next_sequence, covered);
        let (append_sender, append_receiver) = std::sync::mpsc::channel::<Command>();
        let (apply_sender, apply_receiver) = std::sync::mpsc::channel::<Vec<Prepared>>();
        let writer_shared = Arc::clone(&shared);
        let writer_thread = std::thread::Builder::new()
            .name("ingest-writer".into())
            .spawn({
                let snapshots = Snapshots {
                    store: Arc::clone(&store),
                    time_zone: snapshot::zone_name(&config.time_zone),
                    after_records: config.snapshot_after_records,
                };
                move || {
                    write_loop(
                        writer,
                        seen,
                        &append_receiver,
                        &apply_sender,
                        &writer_shared,
                        &snapshots,
                    )
                }
            })
            .map_err(|_| IngestError::Stopped)?;
        let applier_shared = Arc::clone(&shared);
        let applier_thread = std::thread::Builder::new()
            .name("ingest-applier".into())
            .spawn({
                let store = Arc::clone(&store);
                move || apply_loop(&apply_receiver, &applier_shared, store.as_ref())
            })
            .map_err(|_| IngestError::Stopped)?;
        Ok(Ingest {
            shared,
            appends: Mutex::new(Some(append_sender)),
            threads: Mutex::new(vec![writer_thread, applier_thread]),
            config,
            store,
            stopping: std::sync::atomic::AtomicBool::new(false),
            read_only: false,
            tail: Mutex::new(None),
        })
    }

    /// Opens the log in `data_dir/events` for reading only, beside the process that holds
    /// it (a running server): the rollups from their snapshot and the records after it as
    /// they stand now (a record being written is left out). It appends nothing (appends and
    /// imports answer [`IngestError::ReadOnly`]), sends no identity change to the store and
    /// writes no snapshot: the holder does all of that.
    pub fn open_reader(
        data_dir: &Path,
        config: IngestConfig,
        store: Arc<dyn Store>,
    ) -> Result<Ingest, IngestError> {
        if let Some(url) = config.postgres_url.clone() {
            return Self::open_postgres(data_dir, &url, config, store, true);
        }
        let dir = log_dir(data_dir);
        let Loaded {
            rollups,
            covered,
            next_sequence,
            ..
        } = load(&dir, &config, store.as_ref(), None)?;
        let shared = Shared::new(rollups, dir, next_sequence, covered);
        Ok(Ingest {
            shared,
            appends: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
            config,
            store,
            stopping: std::sync::atomic::AtomicBool::new(false),
            read_only: true,
            tail: Mutex::new(None),
        })
    }

    /// [`Ingest::open`] (or, `read_only`, [`Ingest::open_reader`]) with the events in
    /// PostgreSQL: the rollups replayed from `usage_event_blocks`, identity changes the store has
    /// not seen applied, then (unless read-only) a writer thread that commits each group of
    /// appends, a tail thread that reads what every node appended in sequence order, and
    /// the applier.
    fn open_postgres(
        data_dir: &Path,
        url: &str,
        config: IngestConfig,
        store: Arc<dyn Store>,
        read_only: bool,
    ) -> Result<Ingest, IngestError> {
        let events = Arc::new(pg::PgEvents::connect(url)?);
        let checkpoint = identity_checkpoint(store.as_ref())?;
        let filters = stored_filters(store.as_ref())?;
        let started = std::time::Instant::now();
        // The snapshot in the database when it fits, then the events after it.
        let restored = match events.snapshot()? {
            Some(bytes) => match snapshot::read_from(
                &bytes[..],
                &config.time_zone,
                &filters,
                checkpoint,
                false,
                |position| events.record_at(position),
            ) {
                Ok(restored) => Some(restored),
                Err(bad) => {
                    tracing::warn!(reason = %bad, "every usage event is read again");
                    None
                }
            },
            None => None,
        };
        let covered = restored
            .as_ref()
            .map(|r| (r.cover.sequence, r.cover.position));
        let mut rollups = match restored {
            Some(restored) => restored.rollups,
            None => Rollups::with_filters(config.time_zone.clone(), &filters),
        };
        let from = covered.map_or(0, |(through, _)| through + 1);
        let mut pending = identity::Pending::default();
        let mut run = rollups.run();
        let next_sequence = pg::replay(&events, from, u64::MAX, |sequence, position, event| {
            apply_replayed(
                &mut run,
                &mut pending,
                checkpoint,
                (sequence, position),
                event,
            );
        })?;
        drop(run);
        rollups.shrink_to_fit();
        tracing::info!(
            events = next_sequence,
            replayed = next_sequence - from,
            seconds = started.elapsed().as_secs_f64(),
            "usage events read from PostgreSQL into rollups"
        );
        let shared = Shared::new(rollups, log_dir(data_dir), next_sequence, covered)
            .with_postgres(Arc::clone(&events));
        if read_only {
            return Ok(Ingest {
                shared,
                appends: Mutex::new(None),
                threads: Mutex::new(Vec::new()),
                config,
                store,
                stopping: std::sync::atomic::AtomicBool::new(false),
                read_only: true,
                tail: Mutex::new(None),
            });
        }
        identity::apply(store.as_ref(), &mut pending, CHECKPOINT_KEY)?;
        let (append_sender, append_receiver) = std::sync::mpsc::channel::<Command>();
        let (apply_sender, apply_receiver) = std::sync::mpsc::channel::<Vec<Prepared>>();
        let (wake_sender, wake_receiver) = std::sync::mpsc::channel::<()>();
        let spawn = |name: &str, work: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(work)
                .map_err(|_| IngestError::Stopped)
        };
        let tail_wake = wake_sender.clone();
        let snapshots = Snapshots {
            store: Arc::clone(&store),
            time_zone: snapshot::zone_name(&config.time_zone),
            after_records: config.snapshot_after_records,
        };
        let writer = spawn("ingest-writer", {
            let (events, shared) = (Arc::clone(&events), Arc::clone(&shared));
            Box::new(move || {
                pg::write_loop(&events, &append_receiver, &shared, &wake_sender, &snapshots)
            })
        })?;
        let tail = spawn("ingest-tail", {
            let (events, shared) = (Arc::clone(&events), Arc::clone(&shared));
            Box::new(move || pg::tail_loop(&events, &wake_receiver, &apply_sender, &shared))
        })?;
        let applier = spawn("ingest-applier", {
            let (store, shared) = (Arc::clone(&store), Arc::clone(&shared));
            Box::new(move || apply_loop(&apply_receiver, &shared, store.as_ref()))
        })?;
        Ok(Ingest {
            shared,
            appends: Mutex::new(Some(append_sender)),
            threads: Mutex::new(vec![writer, tail, applier]),
            config,
            store,
            stopping: std::sync::atomic::AtomicBool::new(false),
            read_only: false,
            tail: Mutex::new(Some(tail_wake)),
        })
    }

    /// This node among the servers sharing a database: its host and data dir. A node
    /// started again on the same data dir is the same node (it takes back what its
    /// predecessor held, such as the daily pipeline's lease).
    pub fn node_name(&self) -> String {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let data_dir = self.shared.dir.parent().unwrap_or(&self.shared.dir);
        let data_dir = data_dir
            .canonicalize()
            .unwrap_or_else(|_| data_dir.to_owned());
        format!("{host}:{}", data_dir.display())
    }

    /// Whether the log was opened for reading only ([`Ingest::open_reader`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Makes the rollups keep every property filter the stored metric definitions name.
    /// Cheap when nothing changed; a new filter is filled in from the raw log: the rollups
    /// are rebuilt once with it (about 3 s per million events), while acknowledgements go
    /// on and reads wait. [`Ingest::read`] calls it, so a metric defined anywhere (API, CLI,
    /// another node) is computed with its filter.
    pub fn refresh_filters(&self) -> Result<(), IngestError> {
        let wanted = stored_filters(self.store.as_ref())?;
        let missing = |rollups: &Rollups| wanted.iter().any(|f| !rollups.has_filter(f.key()));
        if !missing(
            &*self
                .shared
                .rollups
                .read()
                .map_err(|_| IngestError::Stopped)?,
        ) {
            return Ok(());
        }
        let mut rollups = self
            .shared
            .rollups
            .write()
            .map_err(|_| IngestError::Stopped)?;
        if !missing(&rollups) {
            return Ok(());
        }
        let mut filters: Vec<EventFilter> = rollups.filters().cloned().collect();
        filters.extend(wanted.into_iter().filter(|f| !rollups.has_filter(f.key())));
        let fresh = Rollups::with_filters(self.config.time_zone.clone(), &filters);
        let rebuilt = match rollups.last_sequence() {
            Some(last) => self.shared.rebuild(fresh, last)?,
            None => fresh,
        };
        tracing::info!(
            filters = filters.len(),
            events = rebuilt.events_applied(),
            "rollups rebuilt with new property filters"
        );
        *rollups = rebuilt;
        // The snapshot on disk lacks the new filter: the next one is written whatever its age.
        if let Ok(mut snapshot) = self.shared.snapshot.lock() {
            *snapshot = None;
        }
        Ok(())
    }

    /// Records acknowledged (in the log) and not yet in the rollups: reads leave them out
    /// until they are applied.
    pub fn backlog(&self) -> u64 {
        self.shared
            .progress
            .lock()
            .map_or(0, |p| p.written.saturating_sub(p.applied))
    }

    /// Whether the service is shutting down: long jobs (backfills) stop at their next step.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The settings.
    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    /// Queues events for the log. The reply arrives once they are on disk.
    pub fn append(&self, batch: Prepared) -> AppendReply {
        self.queue(batch, false)
    }

    fn queue(&self, batch: Prepared, import: bool) -> AppendReply {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let append = Append {
            batch,
            import,
            reply,
        };
        if let Err(Command::Append(append)) = self.command(Command::Append(Box::new(append))) {
            let _ = append.reply.send(Err(self.gone()));
        }
        receiver
    }

    /// Why nothing can be written: opened read-only, or the writer is gone.
    fn gone(&self) -> IngestError {
        match self.read_only {
            true => IngestError::ReadOnly,
            false => IngestError::Stopped,
        }
    }

    /// Hands a command to the writer thread; gives it back when the writer is gone.
    fn command(&self, command: Command) -> Result<(), Command> {
        let sender = self.appends.lock().ok().and_then(|guard| guard.clone());
        match sender {
            Some(sender) => sender.send(command).map_err(|failed| failed.0),
            None => Err(command),
        }
    }

    /// Starts a file import that can be undone as a whole: until [`Ingest::end_import`]
    /// or [`Ingest::roll_back_import`], identity changes are held back from the store and
    /// the writer remembers where the log ended. The import must have the log to itself
    /// (the CLI's import opens the log exclusively); a rollback refuses otherwise.
    /// `expected_events` sizes the set of seen message ids once, up front.
    pub fn begin_import(&self, expected_events: usize) -> Result<(), IngestError> {
        if self.read_only {
            return Err(IngestError::ReadOnly);
        }
        self.shared.hold_identity.store(true, Ordering::SeqCst);
        let (reply, answer) = std::sync::mpsc::channel();
        self.command(Command::BeginImport(expected_events, reply))
            .map_err(|_| IngestError::Stopped)?;
        if let Err(error) = answer.recv().map_err(|_| IngestError::Stopped)? {
            self.shared.hold_identity.store(false, Ordering::SeqCst);
            return Err(error);
        }
        Ok(())
    }

    /// An empty batch to fill, reusing the memory of one already applied when there is.
    pub fn batch(&self) -> Prepared {
        self.shared
            .spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default()
    }

    /// Queues events of the import in progress.
    pub fn append_import(&self, batch: Prepared) -> AppendReply {
        self.queue(batch, true)
    }

    /// Ends an import that went well: its records are made durable (they were synced in
    /// the background as they were written; this waits for the rest), then its identity
    /// changes go to the store. When that sync fails the import is still in progress,
    /// for [`Ingest::roll_back_import`].
    pub fn end_import(&self) -> Result<(), IngestError> {
        let (reply, answer) = std::sync::mpsc::channel();
        self.command(Command::EndImport(reply))
            .map_err(|_| IngestError::Stopped)?;
        answer.recv().map_err(|_| IngestError::Stopped)??;
        // After the applier took in everything: no batch comes back later.
        let released = self.release_identity();
        self.drop_spare_batches();
        released?;
        // The next start reads the imported history instead of replaying it.
        if let Err(error) = self.snapshot() {
            tracing::warn!(error = %error, "the rollups' snapshot was not written after the import");
        }
        Ok(())
    }

    /// The last log record the newest snapshot of the rollups covers: the one read at
    /// start or written since (none without one).
    pub fn snapshot_through(&self) -> Option<u64> {
        self.shared
            .snapshot
            .lock()
            .ok()
            .and_then(|through| *through)
    }

    /// Writes a snapshot of the rollups beside the log, so the next start replays only
    /// what comes after it, when enough was written since the last one
    /// ([`IngestConfig::snapshot_after_records`]); whether it did. Appends wait meanwhile
    /// (about a second per million events).
    pub fn snapshot(&self) -> Result<bool, IngestError> {
        let (reply, answer) = std::sync::mpsc::channel();
        self.command(Command::Snapshot(reply))
            .map_err(|_| IngestError::Stopped)?;
        answer.recv().map_err(|_| IngestError::Stopped)?
    }

    /// Stops holding identity changes back and writes the held ones to the store.
    fn release_identity(&self) -> Result<(), IngestError> {
        self.wait_applied(std::time::Duration::from_secs(3600));
        self.shared.hold_identity.store(false, Ordering::SeqCst);
        let mut pending = self
            .shared
            .identity
            .lock()
            .map_err(|_| IngestError::Stopped)?;
        identity::apply(self.store.as_ref(), &mut pending, CHECKPOINT_KEY)
    }

    /// Lets go of the batches kept for reuse (an import is over: its memory goes back).
    fn drop_spare_batches(&self) {
        if let Ok(mut spare) = self.shared.spare.lock() {
            *spare = Vec::new();
        }
    }

    /// Undoes the import in progress (every append of it must have been answered): the
    /// log is cut back to where it began, its message ids forgotten, the rollups rebuilt
    /// from the log, and its held identity changes dropped. Nothing of it remains.
    pub fn roll_back_import(&self) -> Result<(), IngestError> {
        self.wait_applied(std::time::Duration::from_secs(3600));
        self.drop_spare_batches();
        let (reply, answer) = std::sync::mpsc::channel();
        self.command(Command::Rollback(reply))
            .map_err(|_| IngestError::Stopped)?;
        if let Err(refused) = answer.recv().map_err(|_| IngestError::Stopped)? {
            // The import's records stay in the log, so their identity changes go out.
            self.release_identity()?;
            return Err(refused);
        }
        if let Ok(mut pending) = self.shared.identity.lock() {
            *pending = identity::Pending::default();
        }
        self.shared.hold_identity.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// With the events in PostgreSQL: what any node acknowledged up to now counts as
    /// written, and the tail thread is woken to read it, so the next wait covers it (a read
    /// on one node includes every event acknowledged on any node before it began).
    fn catch_up_with_other_nodes(&self) {
        let (Some(events), Ok(tail)) = (&self.shared.pg, self.tail.lock()) else {
            return;
        };
        let Some(tail) = tail.as_ref() else {
            return;
        };
        match events.next_sequence() {
            Ok(next) => {
                let behind = self.shared.progress.lock().is_ok_and(|mut progress| {
                    let behind = next > progress.written;
                    progress.written = progress.written.max(next);
                    behind
                });
                if behind {
                    let _ = tail.send(());
                }
            }
            Err(error) => {
                tracing::warn!(%error, "usage events: how far the nodes wrote is unknown")
            }
        }
    }

    /// Blocks until everything acknowledged so far is in the rollups (at most `timeout`).
    pub fn wait_applied(&self, timeout: std::time::Duration) {
        let Ok(written) = self.shared.progress.lock().map(|p| p.written) else {
            return;
        };
        self.wait_applied_before(written, timeout);
    }

    /// Blocks until the rollups hold every record before `sequence` (at most `timeout`):
    /// how a bulk writer keeps the applier's backlog, and the memory it holds, small.
    pub fn wait_applied_before(&self, sequence: u64, timeout: std::time::Duration) {
        let Ok(progress) = self.shared.progress.lock() else {
            return;
        };
        let _ = self
            .shared
            .caught_up
            .wait_timeout_while(progress, timeout, |p| p.applied < sequence);
    }

    /// Reads the rollups (after waiting for the applier to catch up, and after taking in
    /// the property filters of metrics defined since the last read).
    pub fn read<T>(&self, f: impl FnOnce(&Rollups) -> T) -> Result<T, IngestError> {
        self.catch_up_with_other_nodes();
        self.wait_applied(std::time::Duration::from_secs(5));
        self.refresh_filters()?;
        let rollups = self
            .shared
            .rollups
            .read()
            .map_err(|_| IngestError::Stopped)?;
        Ok(f(&rollups))
    }

    /// The raw events of an account, newest first: `skip` events, then up to `limit`.
    pub fn account_events(
        &self,
        account_external_id: &str,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, usize), IngestError> {
        let (positions, total) = self.read(|rollups| {
            let all = rollups.positions(account_external_id);
            let newest_first: Vec<Position> =
                all.iter().rev().skip(skip).take(limit).copied().collect();
            (newest_first, all.len())
        })?;
        let payloads = match &self.shared.pg {
            Some(events) => events.read_at(&positions)?,
            None => log::read_at(&self.shared.dir, &positions)?,
        };
        let events = payloads
            .iter()
            .filter_map(|payload| record::decode(payload).ok())
            .map(|event| event.to_stored())
            .collect();
        Ok((events, total))
    }

    /// Group commits (`fdatasync` calls) so far.
    pub fn syncs(&self) -> u64 {
        self.shared.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes of the log on disk.
    pub fn bytes_on_disk(&self) -> u64 {
        match &self.shared.pg {
            Some(events) => events.bytes(),
            None => log::bytes_on_disk(&self.shared.dir),
        }
    }

    /// Says the service is stopping: long jobs end at their next step
    /// ([`Ingest::is_stopping`]); appends are still taken until [`Ingest::shutdown`].
    pub fn begin_stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops the threads after the queued appends are written and applied.
    pub fn shutdown(&self) {
        self.begin_stop();
        if let Ok(mut sender) = self.appends.lock() {
            sender.take();
        }
        if let Ok(mut tail) = self.tail.lock() {
            tail.take();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for thread in threads.drain(..) {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Log records read but not decoded yet: their payloads back to back.
#[derive(Default)]
struct RawBatch {
    bytes: Vec<u8>,
    /// Sequence, position, and the payload's end in `bytes` (it starts where the one
    /// before ended).
    records: Vec<(u64, Position, usize)>,
}

/// Records handed over per batch.
const REPLAY_BATCH: usize = 4096;

impl RawBatch {
    /// The records' payloads with their sequence and position.
    fn records(&self) -> impl Iterator<Item = (u64, Position, &[u8])> {
        let mut start = 0;
        self.records.iter().map(move |(sequence, position, end)| {
            let payload = &self.bytes[start..*end];
            start = *end;
            (*sequence, *position, payload)
        })
    }

    /// The same records, JSON ones (logs written before the binary layout) re-encoded, so
    /// that every record is read the same cheap way; binary batches pass through untouched.
    fn into_binary(self) -> Result<RawBatch, IngestError> {
        if !self
            .records()
            .any(|(_, _, payload)| record::is_json(payload))
        {
            return Ok(self);
        }
        let mut binary = RawBatch::default();
        for (sequence, position, payload) in self.records() {
            let event = record::decode(payload)
                .map_err(|reason| IngestError::Corrupt { sequence, reason })?;
            record::encode(&event, &mut binary.bytes);
            binary
                .records
                .push((sequence, position, binary.bytes.len()));
        }
        Ok(binary)
    }
}

/// Rollups and message ids loaded at open.
struct Loaded {
    rollups: Rollups,
    seen: Seen,
    /// The last record the snapshot read covers, and where it is.
    covered: Option<(u64, Position)>,
    /// Identity changes of the records replayed that the store has not seen.
    pending: identity::Pending,
    /// The sequence number after the last record applied.
    next_sequence: u64,
}

/// Reads the rollups' snapshot when one fits (else starts empty) and replays the log's
/// records after it. With `records` (the log is held: it has that many whole records),
/// message ids are collected too; without (a reader beside the holder), the replay stops
/// at the first record that is not the next in sequence (one being written).
fn load(
    dir: &Path,
    config: &IngestConfig,
    store: &dyn Store,
    records: Option<u64>,
) -> Result<Loaded, IngestError> {
    let checkpoint = identity_checkpoint(store)?;
    let filters = stored_filters(store)?;
    let started = std::time::Instant::now();
    let keys = records.is_some();
    let restored = match snapshot::load(dir, &config.time_zone, &filters, checkpoint, keys) {
        Ok(restored) => restored,
        Err(bad) => {
            tracing::warn!(reason = %bad, "the whole event log is replayed");
            None
        }
    };
    let (mut rollups, mut seen, covered) = match restored {
        Some(restored) => {
            tracing::info!(
                through = restored.cover.sequence,
                seconds = started.elapsed().as_secs_f64(),
                "rollups read from their snapshot"
            );
            let covered = (restored.cover.sequence, restored.cover.position);
            (restored.rollups, restored.seen, Some(covered))
        }
        None => {
            let mut seen = Seen::default();
            seen.reserve(records.unwrap_or(0) as usize);
            let rollups = Rollups::with_filters(config.time_zone.clone(), &filters);
            (rollups, seen, None)
        }
    };
    let mut pending = identity::Pending::default();
    let mut run = rollups.run();
    let mut replayed = 0u64;
    let mut next_sequence = covered.map_or(0, |(through, _)| through + 1);
    let mut torn = false;
    let from = covered.map(|(_, position)| position);
    replay(dir, from, u64::MAX, |sequence, position, event| {
        if covered.is_some_and(|(through, _)| sequence <= through) || torn {
            return;
        }
        if records.is_none() && sequence != next_sequence {
            // Beside the holder: a record half written; what follows waits for it.
            torn = true;
            return;
        }
        next_sequence = sequence + 1;
        replayed += 1;
        if records.is_some() {
            seen.insert(dedupe_key(event.source, &event.message_id));
        }
        apply_replayed(
            &mut run,
            &mut pending,
            checkpoint,
            (sequence, position),
            event,
        );
    })?;
    drop(run);
    rollups.shrink_to_fit();
    tracing::info!(
        events = next_sequence,
        replayed,
        seconds = started.elapsed().as_secs_f64(),
        rollup_mib = rollups.approximate_bytes() >> 20,
        "event log replayed into rollups"
    );
    Ok(Loaded {
        rollups,
        seen,
        covered,
        pending,
        next_sequence,
    })
}

/// Reads the log's records up to sequence `last` (inclusive) and hands each event over
/// (without its `context`, which rebuilding does not read), in log order. One thread
/// reads and checks the records, another re-encodes JSON records of older logs, this one
/// decodes and visits.
fn replay(
    dir: &Path,
    from: Option<Position>,
    last: u64,
    mut visit: impl FnMut(u64, Position, &EventRef<'_>),
) -> Result<(), IngestError> {
    let mut failure = None;
    pipeline::in_order(
        move |send| {
            let mut batch = RawBatch::default();
            let mut stopped = false;
            log::scan_from(dir, from, |sequence, position, payload| {
                if stopped || sequence > last {
                    return;
                }
                batch.bytes.extend_from_slice(payload);
                batch.records.push((sequence, position, batch.bytes.len()));
                if batch.records.len() == REPLAY_BATCH {
                    stopped = !send(std::mem::take(&mut batch));
                }
            })?;
            if !batch.records.is_empty() {
                send(batch);
            }
            Ok(())
        },
        RawBatch::into_binary,
        |batch| match batch {
            Ok(batch) if failure.is_none() => {
                for (sequence, position, payload) in batch.records() {
                    match record::decode_for_rollups(payload) {
                        Ok(event) => visit(sequence, position, &event),
                        Err(reason) => {
                            failure = Some(IngestError::Corrupt { sequence, reason });
                            return;
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                failure.get_or_insert(error);
            }
        },
    )?;
    failure.map_or(Ok(()), Err)
}

/// The writer thread's state besides the log: the message ids seen, and the file import
/// in progress (where it started; whether anyone else appended since).
struct Writer {
    log: LogWriter,
    seen: Seen,
    import: Option<(log::Mark, bool)>,
    /// Where the last group's records went (reused).
    placed: Vec<(u64, Position)>,
}

fn write_loop(
    log: LogWriter,
    seen: Seen,
    commands: &Receiver<Command>,
    applier: &Sender<Vec<Prepared>>,
    shared: &Shared,
    snapshots: &Snapshots,
) {
    let mut writer = Writer {
        log,
        seen,
        import: None,
        placed: Vec::new(),
    };
    let mut next = None;
    while let Some(command) = next.take().or_else(|| commands.recv().ok()) {
        let first = match command {
            Command::Append(append) => *append,
            Command::BeginImport(expected, reply) => {
                writer.seen.reserve(expected);
                let mark = writer.log.mark();
                let begun = writer.log.begin_import(mark).map_err(IngestError::from);
                if begun.is_ok() {
                    writer.import = Some((mark, false));
                }
                let _ = reply.send(begun.map(|()| mark));
                continue;
            }
            Command::EndImport(reply) => {
                // Durable first, then committed: a crash in between discards the import
                // whole on the next open, as if it had never run.
                let committed = writer
                    .log
                    .sync()
                    .and_then(|()| writer.log.commit_import())
                    .map_err(IngestError::from);
                if committed.is_ok() {
                    writer.import = None;
                }
                let _ = reply.send(committed);
                continue;
            }
            Command::Rollback(reply) => {
                let _ = reply.send(roll_back(&mut writer, shared));
                continue;
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(snapshots.take(&mut writer, shared));
                continue;
            }
        };
        // Group commit: every append that queued up while the last sync ran goes in this
        // one (a command behind them waits for the next turn).
        let (group, after) = gather(first, commands);
        next = after;
        commit_group(&mut writer, group, applier, shared);
    }
    // Stopping: what the next start would replay is kept, when it is worth it.
    if let Err(error) = snapshots.take(&mut writer, shared) {
        tracing::warn!(error = %error, "the rollups' snapshot was not written at shutdown");
    }
}

/// Group commit: `first` and every append queued behind it (up to 100,000 records), and
/// the command that stopped the gathering, if one did (it waits for the next turn).
fn gather(first: Append, commands: &Receiver<Command>) -> (Vec<Append>, Option<Command>) {
    let mut group = vec![first];
    let mut records = group[0].batch.len();
    while records < 100_000 {
        match commands.try_recv() {
            Ok(Command::Append(append)) => {
                records += append.batch.len();
                group.push(*append);
            }
            Ok(other) => return (group, Some(other)),
            Err(_) => break,
        }
    }
    (group, None)
}

/// Applies a replayed record to the rollups, keeping its identity change when the store
/// has not seen it (after the `checkpoint`).
fn apply_replayed(
    run: &mut rollup::Run<'_>,
    pending: &mut identity::Pending,
    checkpoint: Option<u64>,
    (sequence, position): (u64, Position),
    event: &EventRef<'_>,
) {
    run.note_record(sequence, position);
    if let Some(change) = run.apply_with(event, position, None)
        && checkpoint.is_none_or(|done| sequence > done)
    {
        pending.push(change, run, sequence);
    }
}

/// What the writer needs to take snapshots of the rollups.
struct Snapshots {
    store: Arc<dyn Store>,
    time_zone: String,
    after_records: u64,
}

impl Snapshots {
    /// Writes a snapshot of the rollups and the message ids when at least
    /// `after_records` records were written since the last one, no import is under way
    /// and no identity change waits for the store; whether it did. The caller is the
    /// writer: nothing is appended meanwhile, and it waits for the applier to catch up.
    fn take(&self, writer: &mut Writer, shared: &Shared) -> Result<bool, IngestError> {
        if writer.import.is_some() {
            return Ok(false);
        }
        let written = shared
            .progress
            .lock()
            .map_err(|_| IngestError::Stopped)?
            .written;
        let last = *shared.snapshot.lock().map_err(|_| IngestError::Stopped)?;
        let since = written.saturating_sub(last.map_or(0, |through| through + 1));
        if since < self.after_records.max(1) {
            return Ok(false);
        }
        let progress = shared.progress.lock().map_err(|_| IngestError::Stopped)?;
        drop(
            shared
                .caught_up
                .wait_while(progress, |progress| progress.applied < progress.written)
                .map_err(|_| IngestError::Stopped)?,
        );
        let pending = shared.identity.lock().map_err(|_| IngestError::Stopped)?;
        if !pending.is_settled() {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let rollups = shared.rollups.read().map_err(|_| IngestError::Stopped)?;
        let identity_through = identity_checkpoint(self.store.as_ref())?;
        let failed = |reason: String| IngestError::NotWritten {
            reason: format!("the rollups' snapshot: {reason}"),
            disk_full: false,
        };
        let cover = snapshot::cover_of(
            &shared.dir,
            &rollups,
            writer.seen.len(),
            identity_through,
            &self.time_zone,
        )
        .map_err(failed)?;
        let Some(cover) = cover else {
            return Ok(false);
        };
        let bytes =
            snapshot::save(&shared.dir, &rollups, &mut writer.seen, &cover).map_err(failed)?;
        *shared.snapshot.lock().map_err(|_| IngestError::Stopped)? = Some(cover.sequence);
        tracing::info!(
            through = cover.sequence,
            mib = bytes >> 20,
            seconds = started.elapsed().as_secs_f64(),
            "rollups' snapshot written"
        );
        Ok(true)
    }
}

/// Cuts the log back to where the import began and forgets what it wrote.
fn roll_back(writer: &mut Writer, shared: &Shared) -> Result<(), IngestError> {
    let Some((mark, shared_log)) = writer.import.take() else {
        return Err(IngestError::Import("no import to roll back".into()));
    };
    if shared_log {
        return Err(IngestError::Import(
            "other messages were appended during the import; it cannot be rolled back".into(),
        ));
    }
    writer.log.truncate_to(mark)?;
    // One replay of what is left rebuilds both the message ids and the rollups (no
    // reader sees the rollups in between: the write lock is held).
    let mut rollups = shared.rollups.write().map_err(|_| IngestError::Stopped)?;
    let mut seen = Seen::default();
    *rollups = rebuild(&shared.dir, rollups.emptied(), u64::MAX, Some(&mut seen))?;
    writer.seen = seen;
    if let Ok(mut snapshot) = shared.snapshot.lock()
        && snapshot.is_some_and(|through| through >= mark.next_sequence())
    {
        // It covers records cut away: the next start will not use it, so write anew.
        *snapshot = None;
    }
    if let Ok(mut progress) = shared.progress.lock() {
        progress.written = mark.next_sequence();
        progress.applied = mark.next_sequence();
    }
    Ok(())
}

/// [`rebuild`] from the events in PostgreSQL.
fn rebuild_from_postgres(
    events: &pg::PgEvents,
    mut rollups: Rollups,
    last: u64,
) -> Result<Rollups, IngestError> {
    let mut run = rollups.run();
    pg::replay(events, 0, last, |sequence, position, event| {
        run.note_record(sequence, position);
        run.apply_with(event, position, None);
    })?;
    drop(run);
    rollups.shrink_to_fit();
    Ok(rollups)
}

/// Applies the log's records up to sequence `last` to `rollups` (fresh ones), collecting
/// their de-duplication keys into `seen` when given.
fn rebuild(
    dir: &Path,
    mut rollups: Rollups,
    last: u64,
    mut seen: Option<&mut Seen>,
) -> Result<Rollups, IngestError> {
    let mut run = rollups.run();
    replay(dir, None, last, |sequence, position, event| {
        if let Some(seen) = seen.as_deref_mut() {
            seen.insert(dedupe_key(event.source, &event.message_id));
        }
        run.note_record(sequence, position);
        run.apply_with(event, position, None);
    })?;
    drop(run);
    rollups.shrink_to_fit();
    Ok(rollups)
}

fn commit_group(
    writer: &mut Writer,
    mut group: Vec<Append>,
    applier: &Sender<Vec<Prepared>>,
    shared: &Shared,
) {
    if let Some((_, shared_log)) = &mut writer.import {
        let live = group.iter().any(|append| !append.import);
        if live && !*shared_log {
            // A live message joins the log during an import: the import can no longer be
            // cut away without it, so it is committed as it stands (its marker goes) and
            // a crash cannot take the live message with it.
            if let Err(error) = writer.log.commit_import() {
                tracing::error!(error = %error, "event log: committing an import before a live append failed; nothing of this group was acknowledged");
                let reason = error.to_string();
                for append in group {
                    let _ = append.reply.send(Err(IngestError::NotWritten {
                        reason: reason.clone(),
                        disk_full: false,
                    }));
                }
                return;
            }
        }
        *shared_log |= live;
    }
    // The records each append keeps (their indexes in the batch), in group order; every
    // list reused from batch to batch, so a steady writer allocates nothing.
    let mut kept_any = false;
    for append in &mut group {
        let batch = &mut append.batch;
        batch.kept.clear();
        for (index, (key, _)) in batch.records.iter().enumerate() {
            if writer.seen.insert(*key) {
                batch.kept.push(index);
            }
        }
        kept_any |= !batch.kept.is_empty();
    }
    let result = if kept_any {
        shared
            .syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payloads = group.iter().flat_map(|append| {
            let batch = &append.batch;
            batch.kept.iter().map(|index| batch.payload(*index))
        });
        // An import's own appends are not synced one by one: it reports nothing before it
        // ends (and one stopped half-way is run again: its ids de-duplicate), so they are
        // synced in the background and once at the end.
        let durable = group.iter().any(|append| !append.import);
        writer
            .log
            .append_into(payloads, &mut writer.placed, durable)
    } else {
        writer.placed.clear();
        Ok(())
    };
    match result {
        Ok(()) => {
            let sequence = writer.placed.last().map_or(0, |(s, _)| *s);
            if let Ok(mut progress) = shared.progress.lock() {
                progress.written += writer.placed.len() as u64;
            }
            let mut placed = writer.placed.as_slice();
            let mut written = Vec::with_capacity(group.len());
            for mut append in group {
                let accepted = append.batch.kept.len();
                let _ = append.reply.send(Ok(Appended {
                    accepted: accepted as u64,
                    duplicates: (append.batch.len() - accepted) as u64,
                    sequence,
                }));
                if accepted > 0 {
                    let (mine, rest) = placed.split_at(accepted.min(placed.len()));
                    placed = rest;
                    append.batch.placed.clear();
                    append.batch.placed.extend_from_slice(mine);
                    written.push(append.batch);
                }
            }
            if !written.is_empty() && applier.send(written).is_err() {
                tracing::error!("ingest applier stopped; rollups will catch up on restart");
            }
        }
        Err(error) => {
            tracing::error!(error = %error, "event log append failed; nothing of this group was acknowledged");
            for append in &group {
                let batch = &append.batch;
                for index in &batch.kept {
                    writer.seen.remove(batch.records[*index].0);
                }
            }
            let (reason, disk_full) = match &error {
                log::LogError::Io { path, source } => (
                    format!("{}: {source}", path.display()),
                    mikawaya_store::is_disk_full(source),
                ),
                other => (other.to_string(), false),
            };
            for append in group {
                let _ = append.reply.send(Err(IngestError::NotWritten {
                    reason: reason.clone(),
                    disk_full,
                }));
            }
        }
    }
}

fn apply_loop(batches: &Receiver<Vec<Prepared>>, shared: &Shared, store: &dyn Store) {
    while let Ok(mut group) = batches.recv() {
        // Groups already waiting join this one: a longer run (up to what one holds).
        let mut events: usize = group.iter().map(|batch| batch.kept.len()).sum();
        while events < rollup::RUN_EVENTS
            && let Ok(more) = batches.try_recv()
        {
            events += more.iter().map(|batch| batch.kept.len()).sum::<usize>();
            group.extend(more);
        }
        let mut last = None;
        let Ok(mut pending) = shared.identity.lock() else {
            return;
        };
        if let Ok(mut rollups) = shared.rollups.write() {
            // Filters match on the properties' text; without them, the numbers suffice.
            let filtered = rollups.filters().next().is_some();
            let mut rollups = rollups.run();
            for batch in &group {
                for (index, (sequence, position)) in batch.kept.iter().zip(&batch.placed) {
                    rollups.note_record(*sequence, *position);
                    last = Some(*sequence);
                    let mut numbers = batch.numbers(*index);
                    let with_properties = filtered || numbers.is_none();
                    // The writer's own encoding: it decodes (checked by record's tests).
                    let Ok(event) =
                        record::decode_for_applier(batch.payload(*index), with_properties)
                    else {
                        tracing::error!(sequence, "a record just written does not decode");
                        continue;
                    };
                    let numbers = numbers.as_mut().map(|numbers| numbers as _);
                    if let Some(change) = rollups.apply_with(&event, *position, numbers) {
                        pending.push(change, &rollups, *sequence);
                    }
                }
            }
        }
        if let Ok(mut spare) = shared.spare.lock() {
            for mut batch in group {
                if spare.len() < SPARE_BATCHES && batch.bytes.capacity() >= 64 << 10 {
                    batch.clear();
                    spare.push(batch);
                }
            }
        }
        if !shared.hold_identity.load(Ordering::SeqCst)
            && let Err(error) = identity::apply(store, &mut pending, CHECKPOINT_KEY)
        {
            tracing::error!(error = %error, "applying identity changes to the store failed; they are retried on restart");
        }
        drop(pending);
        if let (Some(last), Ok(mut progress)) = (last, shared.progress.lock()) {
            progress.applied = last + 1;
            shared.caught_up.notify_all();
        }
    }
}
