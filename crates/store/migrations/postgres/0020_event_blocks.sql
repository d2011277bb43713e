-- Usage events in blocks (PostgreSQL only; ADR 0005, "Later: events in blocks").
--
-- One row per event cost PostgreSQL a heap tuple and an index entry per event; a block
-- holds a run of consecutive events (up to 256, as one node's group committed them), so
-- those costs are paid once per block. The message keys stay one row per message: the
-- unique constraint on them is what makes a message stored once.

-- A run of `count` events from sequence `first` on: their records (the event log's
-- encoding) one after another in `records`, the `i`-th ending at byte `ends[i]`.
-- `records` is compressed with lz4 (about 7 times smaller for the benchmark's events, and
-- half the time to store of no compression: less to write to the WAL); a server built
-- without lz4 keeps PostgreSQL's own pglz. Reading one event decompresses its block up to
-- that event.
CREATE TABLE usage_event_blocks (
    first       BIGINT NOT NULL,
    count       INTEGER NOT NULL CHECK (count > 0),
    received_on DATE NOT NULL DEFAULT CURRENT_DATE,
    ends        INTEGER[] NOT NULL,
    records     BYTEA NOT NULL
) PARTITION BY RANGE (received_on);
DO $$
BEGIN
    ALTER TABLE usage_event_blocks ALTER COLUMN records SET COMPRESSION lz4;
    -- The rollups' snapshot too (tens of MiB at scale, rewritten daily).
    ALTER TABLE rollup_snapshots ALTER COLUMN bytes SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
CREATE INDEX usage_event_blocks_first ON usage_event_blocks (first);
-- Each month gets a partition of its own, made ahead by the writing nodes
-- (`usage_event_blocks_2026_12`); what lands outside them lands here.
CREATE TABLE usage_event_blocks_default PARTITION OF usage_event_blocks DEFAULT;

-- The events stored so far, one block each.
INSERT INTO usage_event_blocks (first, count, received_on, ends, records)
    SELECT sequence, 1, received_on, ARRAY[length(payload)], payload FROM usage_events;
DROP TABLE usage_events;
