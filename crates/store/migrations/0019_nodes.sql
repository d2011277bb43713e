-- Several nodes (migrations/postgres/0019 is its PostgreSQL twin, which also holds the
-- usage events; on SQLite they stay in the data dir's event log, events/*.seg).

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
