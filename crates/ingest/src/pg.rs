//! Usage events in PostgreSQL (ADR 0005), when the store is there: every node appends to
//! `usage_event_blocks` and reads what every node appended, in sequence order.
//!
//! - A group of appends is one transaction: the message keys go into `usage_message_keys`
//!   (its primary key makes a message stored once whichever node took it), the new
//!   messages into `usage_event_blocks` (runs of up to [`BLOCK_EVENTS`] consecutive
//!   events, one row each) with the next sequence numbers, and the counter moves on. The
//!   counter's row lock is held to the commit, so sequences commit in order: a reader that
//!   tails by sequence never skips one that commits late.
//! - A reader reads, in one snapshot, the counter and the blocks below it: always a whole,
//!   gap-free run of acknowledged events.

use crate::IngestError;
use mikawaya_store::postgresql::pool::Manager;
use mikawaya_usage::Position;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};

/// Connections that keep the statements they prepared (the store's pool manager).
type Pool = r2d2::Pool<Manager>;

/// The segment number of positions in PostgreSQL: the offset is the sequence number
/// (segments of the file log start at 1).
const SEGMENT: u32 = 0;

/// Events read per query when tailing or replaying.
const READ_CHUNK: i64 = 20_000;

/// Events per block at most: a block costs PostgreSQL one row, so the larger the cheaper
/// to write, but reading one event of it (an account's timeline) decompresses the block
/// up to that event.
const BLOCK_EVENTS: usize = 256;

/// Bytes of records per block at most (a block of larger events holds fewer of them).
const BLOCK_BYTES: usize = 1 << 20;

/// The position of the event with sequence `sequence`.
pub(crate) fn position(sequence: u64) -> Position {
    Position::new(SEGMENT, sequence)
}

/// Groups of at least this many events send their keys through `COPY` (an import's
/// blocks; the HTTP API's groups are smaller and pay less for a multi-row insert).
const COPY_FROM: usize = 2048;

/// The advisory lock key under which nodes make the months' partitions ("mkwp").
const PARTITION_LOCK: i64 = 0x6d6b_7770;

/// Makes the partitions of `usage_event_blocks` for this month and the next (the
/// database's calendar) when missing; events of those months already in the default
/// partition (as the migration to blocks left them) are moved into their month's.
const MAKE_MONTHS: &str = r"
DO $$
DECLARE
    month DATE;
    after DATE;
    name TEXT;
BEGIN
    FOR step IN 0..1 LOOP
        month := (date_trunc('month', CURRENT_DATE) + make_interval(months => step))::date;
        after := (month + interval '1 month')::date;
        name := 'usage_event_blocks_' || to_char(month, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE usage_event_blocks INCLUDING ALL)', name);
            EXECUTE format(
                'WITH moved AS (DELETE FROM usage_event_blocks_default '
                'WHERE received_on >= %L AND received_on < %L RETURNING *) '
                'INSERT INTO %I SELECT * FROM moved', month, after, name);
            EXECUTE format(
                'ALTER TABLE usage_event_blocks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                name, month, after);
        END IF;
    END LOOP;
END
$$";

/// Writes rows of `types` through `COPY … (FORMAT binary)` (`statement`) in `transaction`.
fn copy_rows<'a, const N: usize>(
    transaction: &mut postgres::Transaction<'_>,
    statement: &str,
    types: &[Type],
    rows: impl Iterator<Item = [&'a (dyn ToSql + Sync); N]>,
) -> Result<(), postgres::Error> {
    let sink = transaction.copy_in(statement)?;
    let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(sink, types);
    for row in rows {
        writer.write(&row)?;
    }
    writer.finish()?;
    Ok(())
}

/// Inserts the message keys `keys` (sorted, so two nodes inserting the same keys never
/// wait on each other in a cycle), all of them new: a plain insert, half the cost of
/// `ON CONFLICT DO NOTHING`. Fails with a unique violation when one is not new.
fn insert_new_keys(
    transaction: &mut postgres::Transaction<'_>,
    statements: &Statements,
    keys: &[&Vec<u8>],
) -> Result<(), postgres::Error> {
    if keys.len() >= COPY_FROM {
        copy_rows(
            transaction,
            "COPY usage_message_keys (key) FROM STDIN (FORMAT binary)",
            &[Type::BYTEA],
            keys.iter().map(|key| [*key as &(dyn ToSql + Sync)]),
        )
    } else {
        transaction
            .execute(&statements.new_keys, &[&keys])
            .map(|_| ())
    }
}

/// The statements every group runs, prepared once per connection.
struct Statements {
    new_keys: postgres::Statement,
    store_blocks: postgres::Statement,
}

impl Statements {
    fn prepare(
        client: &mut mikawaya_store::postgresql::pool::Connection,
    ) -> Result<Statements, IngestError> {
        Ok(Statements {
            new_keys: client
                .prepare_cached("INSERT INTO usage_message_keys (key) SELECT unnest($1::bytea[])")
                .map_err(failed)?,
            store_blocks: client.prepare_cached(STORE_BLOCKS).map_err(failed)?,
        })
    }
}

/// Stores a group's blocks (`$2` to `$5`: each block's first event within the group, its
/// count, `ends` as array text and its records packed by [`pack`]) numbered from the
/// counter, which moves by `$1` events; the first sequence given.
const STORE_BLOCKS: &str = "WITH counter AS ( \
         UPDATE usage_sequence SET next = next + $1 WHERE id = 1 \
         RETURNING next - $1 AS first), \
     stored AS ( \
         INSERT INTO usage_event_blocks (first, count, ends, records, packed) \
         SELECT counter.first + b.start, b.count, b.ends::int[], b.records, true \
         FROM counter, \
              unnest($2::bigint[], $3::int[], $4::text[], $5::bytea[]) \
                  AS b(start, count, ends, records) \
         RETURNING first) \
     SELECT min(first) FROM stored";

/// Inserts the message keys `keys` (sorted) that are not stored yet; returns those.
fn insert_keys_skipping(
    transaction: &mut postgres::Transaction<'_>,
    keys: &[&Vec<u8>],
) -> Result<std::collections::HashSet<Vec<u8>>, IngestError> {
    let inserted = if keys.len() >= COPY_FROM {
        // Through COPY into a table of this session, then into the keys.
        transaction
            .batch_execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS usage_keys_in (key BYTEA) \
                 ON COMMIT DELETE ROWS",
            )
            .map_err(failed)?;
        copy_rows(
            transaction,
            "COPY usage_keys_in (key) FROM STDIN (FORMAT binary)",
            &[Type::BYTEA],
            keys.iter().map(|key| [*key as &(dyn ToSql + Sync)]),
        )
        .map_err(failed)?;
        transaction.query(
            "INSERT INTO usage_message_keys (key) SELECT key FROM usage_keys_in ORDER BY key \
             ON CONFLICT DO NOTHING RETURNING key",
            &[],
        )
    } else {
        transaction.query(
            "INSERT INTO usage_message_keys (key) SELECT unnest($1::bytea[]) \
             ON CONFLICT DO NOTHING RETURNING key",
            &[&keys],
        )
    };
    Ok(inserted
        .map_err(failed)?
        .iter()
        .map(|row| row.get::<_, Vec<u8>>(0))
        .collect())
}

/// Stores, in `transaction` (whose keys are in), the events of `records` whose keys are
/// `new` (all when none), then commits; per record, the sequence it got.
fn store_events(
    mut transaction: postgres::Transaction<'_>,
    statements: &Statements,
    keys: &[Vec<u8>],
    records: &[(u128, &[u8])],
    new: Option<std::collections::HashSet<Vec<u8>>>,
) -> Result<Vec<Option<u64>>, IngestError> {
    let mut placed = Vec::with_capacity(records.len());
    let mut payloads: Vec<&[u8]> = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for (key, (_, payload)) in keys.iter().zip(records) {
        let stored = match &new {
            None => true,
            Some(new) => new.contains(key) && taken.insert(key),
        };
        placed.push(stored.then_some(payloads.len() as u64));
        if stored {
            payloads.push(payload);
        }
    }
    if payloads.is_empty() {
        transaction.commit().map_err(failed)?;
        return Ok(placed);
    }
    // Then the events, numbered by the counter in the same statement: its row lock is
    // held from here to the commit, which orders the commits by sequence.
    let blocks = blocks(0, &payloads);
    let starts: Vec<i64> = blocks.iter().map(|block| block.first).collect();
    let counts: Vec<i32> = blocks.iter().map(|block| block.count).collect();
    let ends: Vec<String> = blocks
        .iter()
        .map(|block| {
            let ends: Vec<String> = block.ends.iter().map(i32::to_string).collect();
            format!("{{{}}}", ends.join(","))
        })
        .collect();
    // Packed here, before the counter's lock and on this node's cores.
    let bytes: Vec<Vec<u8>> = blocks.iter().map(|block| pack(&block.records)).collect();
    let next: i64 = transaction
        .query_one(
            &statements.store_blocks,
            &[&(payloads.len() as i64), &starts, &counts, &ends, &bytes],
        )
        .map_err(failed)?
        .get(0);
    transaction.commit().map_err(failed)?;
    let next = u64::try_from(next).unwrap_or(0);
    Ok(placed
        .into_iter()
        .map(|index| index.map(|index| next + index))
        .collect())
}

/// Blocks' records as they are stored: lz4's block format, the uncompressed size first
/// (4 bytes, little-endian).
fn pack(records: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(records)
}

/// The records of the block from `first` whose events end at `ends`, as stored
/// (`packed` or not): checked to be as long as its last event's end.
fn records<'a>(
    first: i64,
    ends: &[i32],
    stored: &'a [u8],
    packed: bool,
) -> Result<std::borrow::Cow<'a, [u8]>, IngestError> {
    let corrupt = |reason: &str| IngestError::Corrupt {
        sequence: u64::try_from(first).unwrap_or(0),
        reason: format!("its block's records {reason}"),
    };
    if !packed {
        return Ok(std::borrow::Cow::Borrowed(stored));
    }
    let length = ends
        .last()
        .map_or(0, |end| usize::try_from(*end).unwrap_or(0));
    // The size the block says it unpacks to, checked before anything is allocated.
    let said = stored
        .first_chunk::<4>()
        .map(|size| u32::from_le_bytes(*size) as usize);
    if said != Some(length) {
        return Err(corrupt("do not say the size their events end at"));
    }
    lz4_flex::block::decompress_size_prepended(stored)
        .ok()
        .filter(|records| records.len() == length)
        .map(std::borrow::Cow::Owned)
        .ok_or_else(|| corrupt("cannot be unpacked"))
}

/// The bytes of the `index`-th event of the block from `first` (`records`, whose events
/// end at `ends`).
fn event_in<'a>(
    records: &'a [u8],
    ends: &[i32],
    first: i64,
    index: usize,
) -> Result<&'a [u8], IngestError> {
    let end_of = |index: usize| ends.get(index).and_then(|end| usize::try_from(*end).ok());
    let start = match index.checked_sub(1) {
        None => Some(0),
        Some(before) => end_of(before),
    };
    start
        .zip(end_of(index))
        .and_then(|(start, end)| records.get(start..end))
        .ok_or_else(|| IngestError::Corrupt {
            sequence: u64::try_from(first)
                .unwrap_or(0)
                .saturating_add(index as u64),
            reason: "its block's ends are outside the block's records".into(),
        })
}

/// A run of consecutive events as one row of `usage_event_blocks`.
struct Block {
    first: i64,
    count: i32,
    ends: Vec<i32>,
    records: Vec<u8>,
}

/// The events `payloads` (sequences from `first` on) cut into blocks.
fn blocks(first: i64, payloads: &[&[u8]]) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for (offset, payload) in payloads.iter().enumerate() {
        let full = blocks.last().is_none_or(|block| {
            block.ends.len() == BLOCK_EVENTS || block.records.len() + payload.len() > BLOCK_BYTES
        });
        if full {
            blocks.push(Block {
                first: first + offset as i64,
                count: 0,
                ends: Vec::new(),
                records: Vec::new(),
            });
        }
        if let Some(block) = blocks.last_mut() {
            block.records.extend_from_slice(payload);
            block
                .ends
                .push(i32::try_from(block.records.len()).unwrap_or(i32::MAX));
            block.count += 1;
        }
    }
    blocks
}

/// The usage events of one PostgreSQL database.
pub(crate) struct PgEvents {
    /// Always `Some` but while dropping (closing blocks on the driver's runtime).
    pool: Option<Pool>,
    /// The day (UTC) this node last made sure the months' partitions exist.
    months_made: std::sync::Mutex<Option<jiff::civil::Date>>,
}

fn failed(error: impl std::error::Error) -> IngestError {
    IngestError::NotWritten {
        reason: format!("PostgreSQL: {}", mikawaya_store::error_chain(&error)),
        disk_full: false,
    }
}

fn unreadable(error: impl std::error::Error) -> IngestError {
    IngestError::Import(format!(
        "reading usage events from PostgreSQL: {}",
        mikawaya_store::error_chain(&error)
    ))
}

fn missing(sequence: i64) -> IngestError {
    IngestError::Corrupt {
        sequence: u64::try_from(sequence).unwrap_or(0),
        reason: "missing from usage_event_blocks".into(),
    }
}

impl PgEvents {
    /// Connects to the database at `url` (its migrations applied by the store).
    pub(crate) fn connect(url: &str) -> Result<PgEvents, IngestError> {
        let config: postgres::Config = url.parse().map_err(unreadable)?;
        // A connection is not tried before each use (a round trip per group): one that
        // broke fails its statement, the group is not acknowledged, and the pool drops it.
        let pool = mikawaya_store::postgresql::pool::open(
            config,
            4,
            std::time::Duration::from_secs(10),
            false,
        )
        .map_err(unreadable)?;
        Ok(PgEvents {
            pool: Some(pool),
            months_made: std::sync::Mutex::new(None),
        })
    }

    /// A connection of the pool; none to be had is `error` (reading or writing, as the
    /// caller is).
    fn client(
        &self,
        error: fn(r2d2::Error) -> IngestError,
    ) -> Result<r2d2::PooledConnection<Manager>, IngestError> {
        self.pool
            .as_ref()
            .ok_or(IngestError::Stopped)?
            .get()
            .map_err(error)
    }

    /// The sequence number the next event will get (every one below is acknowledged).
    pub(crate) fn next_sequence(&self) -> Result<u64, IngestError> {
        let mut client = self.client(unreadable)?;
        let row = client
            .query_one("SELECT next FROM usage_sequence WHERE id = 1", &[])
            .map_err(unreadable)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Makes this month's and the next month's partitions, once a day per node. A failure
    /// is logged, not fatal: the events then land in the default partition.
    fn make_months(&self) {
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        let Ok(mut made) = self.months_made.lock() else {
            return;
        };
        if *made == Some(today) {
            return;
        }
        let result = self.client(failed).and_then(|mut client| {
            let mut transaction = client.transaction().map_err(failed)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
                .map_err(failed)?;
            transaction.batch_execute(MAKE_MONTHS).map_err(failed)?;
            transaction.commit().map_err(failed)
        });
        match result {
            Ok(()) => *made = Some(today),
            Err(error) => {
                tracing::warn!(error = %error, "usage events: the months' partitions were not made; events go to the default partition");
                *made = Some(today);
            }
        }
    }

    /// Stores the messages not stored yet, in one transaction: `records` are each
    /// message's de-duplication key and payload, in order. Returns, per record, the
    /// sequence it got, or none when the message was already there (or earlier in
    /// `records`). Nothing is stored when it fails.
    pub(crate) fn append(
        &self,
        records: &[(u128, &[u8])],
    ) -> Result<Vec<Option<u64>>, IngestError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.make_months();
        let keys: Vec<Vec<u8>> = records
            .iter()
            .map(|(key, _)| key.to_be_bytes().to_vec())
            .collect();
        let mut sorted: Vec<&Vec<u8>> = keys.iter().collect();
        sorted.sort_unstable();
        let mut client = self.client(failed)?;
        let statements = Statements::prepare(&mut client)?;
        // The keys first, outside the counter's lock: nodes insert theirs side by side.
        // Usually every message is new (a plain insert); when one is not, the transaction
        // starts again and skips the keys already stored.
        {
            let mut transaction = client.transaction().map_err(failed)?;
            match insert_new_keys(&mut transaction, &statements, &sorted) {
                Ok(()) => return store_events(transaction, &statements, &keys, records, None),
                Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    transaction.rollback().map_err(failed)?;
                }
                Err(error) => return Err(failed(error)),
            }
        }
        let mut transaction = client.transaction().map_err(failed)?;
        let new = insert_keys_skipping(&mut transaction, &sorted)?;
        store_events(transaction, &statements, &keys, records, Some(new))
    }

    /// Reads the events from sequence `from` on that are acknowledged now, in order, at
    /// most `limit` of them, handing each to `visit`; returns the sequence after the last.
    pub(crate) fn read_from(
        &self,
        from: u64,
        limit: i64,
        mut visit: impl FnMut(u64, &[u8]),
    ) -> Result<u64, IngestError> {
        let mut client = self.client(unreadable)?;
        let counter = client
            .prepare_cached("SELECT next FROM usage_sequence WHERE id = 1")
            .map_err(unreadable)?;
        // The block holding `from`, and every block after it that starts before `until`.
        let blocks = client
            .prepare_cached(
                "SELECT first, ends, records, packed FROM usage_event_blocks \
                 WHERE first >= COALESCE( \
                     (SELECT max(first) FROM usage_event_blocks WHERE first <= $1), 0) \
                   AND first < $2 \
                 ORDER BY first",
            )
            .map_err(unreadable)?;
        let mut transaction = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(unreadable)?;
        let next: i64 = transaction
            .query_one(&counter, &[])
            .map_err(unreadable)?
            .get(0);
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let until = next.min(from.saturating_add(limit));
        if until <= from {
            return Ok(u64::try_from(from).unwrap_or(0));
        }
        let rows = transaction
            .query(&blocks, &[&from, &until])
            .map_err(unreadable)?;
        let mut expected = from;
        for row in &rows {
            let first: i64 = row.get(0);
            let ends: Vec<i32> = row.get(1);
            let records = records(first, &ends, row.get(2), row.get(3))?;
            for (index, sequence) in (first..).take(ends.len()).enumerate() {
                let event = event_in(&records, &ends, first, index)?;
                if (from..until).contains(&sequence) {
                    if sequence != expected {
                        return Err(missing(expected));
                    }
                    visit(u64::try_from(sequence).unwrap_or(0), event);
                    expected += 1;
                }
            }
        }
        if expected != until {
            return Err(missing(expected));
        }
        transaction.commit().map_err(unreadable)?;
        Ok(u64::try_from(until).unwrap_or(0))
    }

    /// Every acknowledged event from `from` on, in order.
    pub(crate) fn scan_from(
        &self,
        mut from: u64,
        mut visit: impl FnMut(u64, &[u8]),
    ) -> Result<(), IngestError> {
        loop {
            let after = self.read_from(from, READ_CHUNK, &mut visit)?;
            if after == from {
                return Ok(());
            }
            from = after;
        }
    }

    /// The payloads at `positions`, in their order (missing ones left out).
    pub(crate) fn read_at(&self, positions: &[Position]) -> Result<Vec<Vec<u8>>, IngestError> {
        let sequences: Vec<i64> = positions
            .iter()
            .map(|position| i64::try_from(position.offset()).unwrap_or(i64::MAX))
            .collect();
        let mut client = self.client(unreadable)?;
        // Each event's bytes out of its block: a packed block comes whole (once however
        // many of its events are asked for) and is unpacked here; of a block stored before,
        // `substring` decompresses the records up to the event's end, not further.
        let rows = client
            .query(
                "SELECT s.sequence, b.first, b.ends, b.packed, \
                     CASE WHEN b.packed THEN NULL ELSE substring(b.records \
                         FROM COALESCE(b.ends[(s.sequence - b.first)::int], 0) + 1 \
                         FOR b.ends[(s.sequence - b.first)::int + 1] \
                             - COALESCE(b.ends[(s.sequence - b.first)::int], 0)) END, \
                     CASE WHEN b.packed AND s.sequence = min(s.sequence) \
                         OVER (PARTITION BY b.first) THEN b.records END \
                 FROM unnest($1::bigint[]) AS s(sequence) \
                 CROSS JOIN LATERAL ( \
                     SELECT first, count, ends, records, packed FROM usage_event_blocks \
                     WHERE first <= s.sequence ORDER BY first DESC LIMIT 1) AS b \
                 WHERE s.sequence < b.first + b.count \
                 ORDER BY b.first, s.sequence",
                &[&sequences],
            )
            .map_err(unreadable)?;
        let mut by_sequence: std::collections::HashMap<i64, Vec<u8>> =
            std::collections::HashMap::with_capacity(rows.len());
        let mut unpacked: Option<(i64, Vec<u8>)> = None;
        for row in &rows {
            let (sequence, first): (i64, i64) = (row.get(0), row.get(1));
            if !row.get::<_, bool>(3) {
                by_sequence.insert(sequence, row.get(4));
                continue;
            }
            let ends: Vec<i32> = row.get(2);
            if let Some(packed) = row.get::<_, Option<&[u8]>>(5) {
                unpacked = Some((first, records(first, &ends, packed, true)?.into_owned()));
            }
            let Some((_, records)) = unpacked.as_ref().filter(|(block, _)| *block == first) else {
                return Err(missing(sequence));
            };
            let index = usize::try_from(sequence - first).unwrap_or(usize::MAX);
            let event = event_in(records, &ends, first, index)?;
            by_sequence.insert(sequence, event.to_vec());
        }
        Ok(sequences
            .iter()
            .filter_map(|sequence| by_sequence.remove(sequence))
            .collect())
    }

    /// Bytes the usage tables take.
    pub(crate) fn bytes(&self) -> u64 {
        self.client(unreadable)
            .ok()
            .and_then(|mut client| {
                client
                    .query_one(
                        "SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), 0)::bigint \
                         FROM pg_inherits WHERE inhparent IN \
                         ('usage_event_blocks'::regclass, 'usage_message_keys'::regclass)",
                        &[],
                    )
                    .ok()
            })
            .map_or(0, |row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

impl Drop for PgEvents {
    /// Closing connections blocks on the driver's runtime, which panics on a thread that
    /// drives an async runtime: the pool is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// How often a node looks for events other nodes appended, at the least (it also looks
/// at once after each of its own appends).
const POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Why an import into PostgreSQL is not undone.
const NO_ROLLBACK: &str = "on PostgreSQL an import's events are committed as they are read \
    (other nodes may append meanwhile), so they stay: fix the file and import it again; \
    the events already stored are not stored twice";

/// The writer thread when events are in PostgreSQL: each group of waiting appends is one
/// transaction ([`PgEvents::append`]); what it stored is applied by the tail thread, in
/// sequence order with every other node's events.
pub(crate) fn write_loop(
    events: &PgEvents,
    commands: &std::sync::mpsc::Receiver<crate::Command>,
    shared: &crate::Shared,
    wake: &std::sync::mpsc::Sender<()>,
    snapshots: &crate::Snapshots,
) {
    use crate::Command;
    let mut next = None;
    while let Some(command) = next.take().or_else(|| commands.recv().ok()) {
        let first = match command {
            Command::Append(append) => *append,
            Command::BeginImport(_, reply) => {
                let written = shared.progress.lock().map_or(0, |p| p.written);
                let _ = reply.send(Ok(crate::log::Mark::at_sequence(written)));
                continue;
            }
            Command::EndImport(reply) => {
                // Every append of it was committed before it was answered.
                let _ = reply.send(Ok(()));
                continue;
            }
            Command::Rollback(reply) => {
                let _ = reply.send(Err(IngestError::Import(NO_ROLLBACK.into())));
                continue;
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(snapshot(events, shared, snapshots));
                continue;
            }
        };
        let (group, after) = crate::gather(first, commands);
        next = after;
        commit_group(events, group, shared, wake);
    }
    // Stopping: the next start reads what this node applied, when it is worth it.
    if let Err(error) = snapshot(events, shared, snapshots) {
        tracing::warn!(error = %error, "the rollups' snapshot was not written at shutdown");
    }
}

fn snapshot(
    events: &PgEvents,
    shared: &crate::Shared,
    snapshots: &crate::Snapshots,
) -> Result<bool, IngestError> {
    let identity_through = crate::identity_checkpoint(snapshots.store.as_ref())?;
    take_snapshot(
        events,
        shared,
        identity_through,
        &snapshots.time_zone,
        snapshots.after_records,
    )
}

fn commit_group(
    events: &PgEvents,
    group: Vec<crate::Append>,
    shared: &crate::Shared,
    wake: &std::sync::mpsc::Sender<()>,
) {
    let records: Vec<(u128, &[u8])> = group
        .iter()
        .flat_map(|append| {
            let batch = &append.batch;
            (0..batch.len()).map(move |index| (batch.records[index].0, batch.payload(index)))
        })
        .collect();
    shared
        .syncs
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match events.append(&records) {
        Ok(placed) => {
            drop(records);
            let last = placed.iter().flatten().max().copied();
            if let (Some(last), Ok(mut progress)) = (last, shared.progress.lock()) {
                progress.written = progress.written.max(last + 1);
            }
            let _ = wake.send(());
            let mut placed = placed.into_iter();
            for append in group {
                let total = append.batch.len();
                let accepted = placed.by_ref().take(total).flatten().count();
                let _ = append.reply.send(Ok(crate::Appended {
                    accepted: accepted as u64,
                    duplicates: (total - accepted) as u64,
                    sequence: last.unwrap_or(0),
                }));
            }
        }
        Err(error) => {
            drop(records);
            tracing::error!(error = %error, "usage events: a group was not stored; nothing of it was acknowledged");
            let reason = error.to_string();
            for append in group {
                let _ = append.reply.send(Err(IngestError::NotWritten {
                    reason: reason.clone(),
                    disk_full: false,
                }));
            }
        }
    }
}

/// The tail thread: reads what every node appended, in sequence order, and hands it to
/// the applier; woken by this node's appends and at least every [`POLL`].
pub(crate) fn tail_loop(
    events: &PgEvents,
    wake: &std::sync::mpsc::Receiver<()>,
    applier: &std::sync::mpsc::Sender<Vec<crate::Prepared>>,
    shared: &crate::Shared,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut next = shared.progress.lock().map_or(0, |p| p.applied);
    loop {
        let stopping = matches!(wake.recv_timeout(POLL), Err(RecvTimeoutError::Disconnected));
        while wake.try_recv().is_ok() {}
        loop {
            let mut batch = crate::Prepared::default();
            let read = events.read_from(next, READ_CHUNK, |sequence, payload| {
                batch.push_stored(payload, (sequence, position(sequence)));
            });
            let after = match read {
                Ok(after) => after,
                Err(error) => {
                    tracing::warn!(error = %error, "usage events: reading what the nodes appended failed; retried");
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            if let Ok(mut progress) = shared.progress.lock() {
                progress.written = progress.written.max(after);
            }
            next = after;
            if applier.send(vec![batch]).is_err() {
                return;
            }
        }
        if stopping {
            return;
        }
    }
}

/// Hands every event up to sequence `last` (inclusive) to `visit`, decoded for the
/// rollups, in sequence order.
pub(crate) fn replay(
    events: &PgEvents,
    from: u64,
    last: u64,
    mut visit: impl FnMut(u64, Position, &mikawaya_usage::message::EventRef<'_>),
) -> Result<u64, IngestError> {
    let mut failure = None;
    let mut next = from;
    events.scan_from(from, |sequence, payload| {
        if sequence > last || failure.is_some() {
            return;
        }
        match mikawaya_usage::record::decode_for_rollups(payload) {
            Ok(event) => visit(sequence, position(sequence), &event),
            Err(reason) => failure = Some(IngestError::Corrupt { sequence, reason }),
        }
        next = sequence + 1;
    })?;
    failure.map_or(Ok(next), Err)
}

/// What `mikawaya migrate` copied of the usage events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsCopy {
    /// Events in the data dir's log.
    pub events: u64,
    /// Events in PostgreSQL after the copy.
    pub copied: u64,
    /// Whether both hold the same records (sequence and bytes), in the same order.
    pub same: bool,
}

/// Copies the event log of a data dir into the (empty) usage tables of the PostgreSQL
/// database at `url`, each event with its sequence number, then compares both.
pub fn copy_events(data_dir: &std::path::Path, url: &str) -> Result<EventsCopy, IngestError> {
    use sha2::Digest;
    let events = PgEvents::connect(url)?;
    if events.next_sequence()? > 0 {
        return Err(IngestError::Import(
            "the database already holds usage events: migrate into a new one".into(),
        ));
    }
    let dir = crate::log_dir(data_dir);
    let mut source = sha2::Sha256::new();
    let mut batch: Vec<(u128, Vec<u8>)> = Vec::new();
    let mut count = 0u64;
    let mut failure = None;
    let flush = |batch: &mut Vec<(u128, Vec<u8>)>, first: u64| -> Result<(), IngestError> {
        let records: Vec<(u128, &[u8])> = batch
            .iter()
            .map(|(key, payload)| (*key, payload.as_slice()))
            .collect();
        let placed = events.append(&records)?;
        for (offset, sequence) in placed.iter().enumerate() {
            if *sequence != Some(first + offset as u64) {
                return Err(IngestError::Corrupt {
                    sequence: first + offset as u64,
                    reason: "its place in PostgreSQL differs from the log's".into(),
                });
            }
        }
        batch.clear();
        Ok(())
    };
    crate::log::scan(&dir, |sequence, _, payload| {
        if failure.is_some() {
            return;
        }
        if sequence != count {
            failure = Some(IngestError::Corrupt {
                sequence,
                reason: format!("the log skips from {count}"),
            });
            return;
        }
        match mikawaya_usage::record::decode_for_rollups(payload) {
            Ok(event) => {
                batch.push((
                    crate::dedupe_key(event.source, &event.message_id),
                    payload.to_vec(),
                ));
            }
            Err(reason) => {
                failure = Some(IngestError::Corrupt { sequence, reason });
                return;
            }
        }
        source.update(sequence.to_le_bytes());
        source.update(payload);
        count += 1;
        if batch.len() == 10_000
            && let Err(error) = flush(&mut batch, count - 10_000)
        {
            failure = Some(error);
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    let first = count - batch.len() as u64;
    if !batch.is_empty() {
        flush(&mut batch, first)?;
    }
    let mut copied = sha2::Sha256::new();
    let mut copied_count = 0u64;
    events.scan_from(0, |sequence, payload| {
        copied.update(sequence.to_le_bytes());
        copied.update(payload);
        copied_count += 1;
    })?;
    Ok(EventsCopy {
        events: count,
        copied: copied_count,
        same: count == copied_count && source.finalize() == copied.finalize(),
    })
}

impl PgEvents {
    /// The rollups' snapshot stored in the database, if any.
    pub(crate) fn snapshot(&self) -> Result<Option<Vec<u8>>, IngestError> {
        let mut client = self.client(unreadable)?;
        Ok(client
            .query_opt("SELECT bytes FROM rollup_snapshots WHERE id = 1", &[])
            .map_err(unreadable)?
            .map(|row| row.get::<_, Vec<u8>>(0)))
    }

    /// Replaces the stored snapshot.
    pub(crate) fn save_snapshot(&self, through: u64, bytes: &[u8]) -> Result<(), IngestError> {
        let mut client = self.client(failed)?;
        client
            .execute(
                "INSERT INTO rollup_snapshots (id, through, taken, bytes) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET through = excluded.through, \
                 taken = excluded.taken, bytes = excluded.bytes",
                &[
                    &i64::try_from(through).unwrap_or(i64::MAX),
                    &jiff::Timestamp::now().to_string(),
                    &bytes,
                ],
            )
            .map_err(failed)?;
        Ok(())
    }

    /// The sequence and payload of the event at `position`.
    pub(crate) fn record_at(&self, position: Position) -> Option<(u64, Vec<u8>)> {
        self.read_at(&[position])
            .ok()?
            .into_iter()
            .next()
            .map(|payload| (position.offset(), payload))
    }
}

/// Writes a snapshot of the rollups into the database when at least `after_records`
/// events were applied since the last one (or there is none); whether it did. Waits for
/// the rollups to hold every event acknowledged so far.
pub(crate) fn take_snapshot(
    events: &PgEvents,
    shared: &crate::Shared,
    identity_through: Option<u64>,
    time_zone: &str,
    after_records: u64,
) -> Result<bool, IngestError> {
    let failed = |reason: String| IngestError::NotWritten {
        reason: format!("the rollups' snapshot: {reason}"),
        disk_full: false,
    };
    let progress = shared.progress.lock().map_err(|_| IngestError::Stopped)?;
    let progress = shared
        .caught_up
        .wait_timeout_while(progress, std::time::Duration::from_secs(60), |p| {
            p.applied < p.written
        })
        .map_err(|_| IngestError::Stopped)?
        .0;
    let applied = progress.applied;
    drop(progress);
    let last = *shared.snapshot.lock().map_err(|_| IngestError::Stopped)?;
    if applied.saturating_sub(last.map_or(0, |through| through + 1)) < after_records.max(1) {
        return Ok(false);
    }
    let pending = shared.identity.lock().map_err(|_| IngestError::Stopped)?;
    if !pending.is_settled() {
        return Ok(false);
    }
    drop(pending);
    let started = std::time::Instant::now();
    let rollups = shared.rollups.read().map_err(|_| IngestError::Stopped)?;
    let cover = crate::snapshot::cover_with(&rollups, 0, identity_through, time_zone, |position| {
        events
            .read_at(&[position])
            .map(|mut found| found.pop())
            .map_err(|error| error.to_string())
    })
    .map_err(failed)?;
    let Some(cover) = cover else {
        return Ok(false);
    };
    let (bytes, _) = crate::snapshot::write_to(
        Vec::new(),
        &rollups,
        &mut crate::seen::Seen::default(),
        &cover,
    )
    .map_err(|error| failed(error.to_string()))?;
    drop(rollups);
    events.save_snapshot(cover.sequence, &bytes)?;
    *shared.snapshot.lock().map_err(|_| IngestError::Stopped)? = Some(cover.sequence);
    tracing::info!(
        through = cover.sequence,
        mib = bytes.len() >> 20,
        seconds = started.elapsed().as_secs_f64(),
        "rollups' snapshot written to PostgreSQL"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{BLOCK_BYTES, BLOCK_EVENTS, blocks, pack, records};

    #[test]
    fn packed_blocks_unpack_to_their_records_or_are_refused() {
        let events = b"one event|and the next one, a little longer";
        let ends = [10, i32::try_from(events.len()).unwrap_or(0)];
        let packed = pack(events);
        assert!(matches!(records(7, &ends, &packed, true).as_deref(), Ok(r) if r == events));
        // Stored before blocks were packed: as it is.
        assert!(matches!(records(7, &ends, events, false).as_deref(), Ok(r) if r == events));
        // A size that is not where the events end, bytes that are no lz4, nothing at all.
        for stored in [
            pack(&events[..20]),
            b"\x2b\0\0\0garbage".to_vec(),
            Vec::new(),
        ] {
            let refused = records(7, &ends, &stored, true);
            assert!(
                matches!(
                    &refused,
                    Err(crate::IngestError::Corrupt { sequence: 7, .. })
                ),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn events_are_cut_into_blocks_by_count_and_by_bytes() {
        // 600 events of 10 bytes: 256 + 256 + 88, numbered on from 40.
        let small = [0u8; 10];
        let payloads: Vec<&[u8]> = (0..600).map(|_| &small[..]).collect();
        let cut = blocks(40, &payloads);
        let shape: Vec<(i64, i32, usize)> = cut
            .iter()
            .map(|block| (block.first, block.count, block.records.len()))
            .collect();
        assert_eq!(shape, [(40, 256, 2560), (296, 256, 2560), (552, 88, 880)]);
        assert_eq!(cut[2].ends[..3], [10, 20, 30]);
        assert_eq!(cut[2].ends.last(), Some(&880));
        assert_eq!(BLOCK_EVENTS, 256);
        // Events of 300 KiB: three fit in 1 MiB, the fourth starts a block; an event
        // larger than a block gets one of its own.
        let large = vec![1u8; 300 << 10];
        let huge = vec![2u8; BLOCK_BYTES + 1];
        let payloads: Vec<&[u8]> = vec![&large, &large, &large, &large, &huge, &large];
        let cut = blocks(0, &payloads);
        let shape: Vec<(i64, i32)> = cut.iter().map(|block| (block.first, block.count)).collect();
        assert_eq!(shape, [(0, 3), (3, 1), (4, 1), (5, 1)]);
        assert!(blocks(0, &[]).is_empty());
    }
}
