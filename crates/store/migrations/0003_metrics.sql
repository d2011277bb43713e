-- Metric definitions: configuration people write, kept as the JSON spec the analytics
-- crate checks (the store does not interpret it).
CREATE TABLE metrics (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
