-- Several nodes on one database (ADR 0005).

-- A lease: one holder does a job (the daily pipeline) until `until`, an RFC 3339 instant;
-- a holder that dies leaves it to whoever asks after that.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);

-- Failed logins, shared by every node: by email and client address, by address, and by
-- email (the throttle's three counts), each with its instant (RFC 3339).
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

-- Usage events, when the store is PostgreSQL: every node appends here and tails what
-- every node appended, in sequence order.

-- The next sequence number; its row lock orders commits, so sequences commit in order
-- and a reader tailing by sequence never skips one that commits late.
CREATE TABLE usage_sequence (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    next BIGINT NOT NULL
);
INSERT INTO usage_sequence (id, next) VALUES (1, 0);

-- One row per acknowledged event: its sequence and the event log's record encoding.
-- Partitioned by the month it was received, so old months can be detached or archived
-- (the rollups' snapshot keeps what they counted).
CREATE TABLE usage_events (
    sequence    BIGINT NOT NULL,
    received_on DATE NOT NULL DEFAULT CURRENT_DATE,
    payload     BYTEA NOT NULL
) PARTITION BY RANGE (received_on);
CREATE INDEX usage_events_sequence ON usage_events (sequence);
-- Months not made ahead (the writer makes the current one) land here.
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;

-- De-duplication: a message (write key and message id, hashed) is stored once.
CREATE TABLE usage_message_keys (
    key BYTEA PRIMARY KEY
) PARTITION BY HASH (key);
DO $$
BEGIN
    FOR part IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE usage_message_keys_%s PARTITION OF usage_message_keys FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            part, part);
    END LOOP;
END
$$;

-- The rollups' snapshot (the embedded store keeps it in events/ROLLUPS): written by the
-- node that runs the daily pipeline and at shutdown; a node starting reads it and the
-- events after it instead of every event.
CREATE TABLE rollup_snapshots (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    through BIGINT NOT NULL,
    taken   TEXT NOT NULL,
    bytes   BYTEA NOT NULL
);
