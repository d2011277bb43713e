-- Write keys authenticate senders of usage events (Segment's "source" write keys).
CREATE TABLE write_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Small facts the services keep about themselves (e.g. how far identity changes from the
-- event log have been applied).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
