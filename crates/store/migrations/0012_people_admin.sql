-- People managed from the browser: a user can be deactivated (kept, with their history,
-- but unable to log in or use a token); every change to people, partners, segments and
-- custom field definitions is recorded with who made it, when, and the before and after.
ALTER TABLE users ADD COLUMN deactivated_at TEXT;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    object     TEXT NOT NULL CHECK (object IN ('user', 'partner', 'segment', 'custom_field')),
    object_key TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'deactivate', 'activate')),
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
