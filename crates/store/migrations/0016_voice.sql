-- The voice of the customer: surveys Mikawaya hosts, each send of one to one contact (by a
-- per-recipient link whose token only the recipient has: its SHA-256 is kept), answers tied
-- to their send, feedback items from every source, the feature requests similar items are
-- merged into, their history, and the product tracker's webhook deliveries already seen.
CREATE TABLE surveys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    body       TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE survey_sends (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'in_app')),
    language    TEXT NOT NULL CHECK (language IN ('en', 'ja')),
    token_hash  TEXT NOT NULL UNIQUE,
    run_id      INTEGER REFERENCES playbook_runs(id) ON DELETE SET NULL,
    sent_at     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    response_id INTEGER REFERENCES survey_responses(id) ON DELETE SET NULL,
    answered_at TEXT
);
CREATE INDEX survey_sends_contact ON survey_sends(contact_id, sent_at);
CREATE INDEX survey_sends_survey ON survey_sends(survey_id, sent_at);
CREATE INDEX survey_sends_account ON survey_sends(account_id, sent_at);

ALTER TABLE survey_responses ADD COLUMN send_id INTEGER REFERENCES survey_sends(id) ON DELETE SET NULL;
ALTER TABLE survey_responses ADD COLUMN answers TEXT;
ALTER TABLE survey_responses ADD COLUMN experience_override TEXT
    CHECK (experience_override IS NULL OR experience_override IN ('friction', 'delight', 'neutral'));
ALTER TABLE survey_responses ADD COLUMN override_by INTEGER REFERENCES users(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX survey_responses_send ON survey_responses(send_id) WHERE send_id IS NOT NULL;

CREATE TABLE feature_requests (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('under_review', 'planned', 'in_progress', 'shipped', 'declined')),
    issue_url      TEXT,
    created_by     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    shipped_at     TEXT,
    loop_closed_at TEXT
);
CREATE INDEX feature_requests_issue ON feature_requests(issue_url);

CREATE TABLE feedback_items (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id           INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    source               TEXT NOT NULL CHECK (source IN ('survey', 'touchpoint', 'api', 'csv', 'email')),
    source_key           TEXT,
    text                 TEXT NOT NULL,
    experience_override  TEXT
        CHECK (experience_override IS NULL OR experience_override IN ('friction', 'delight', 'neutral')),
    override_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    request_id           INTEGER REFERENCES feature_requests(id) ON DELETE SET NULL,
    suggested_request_id INTEGER REFERENCES feature_requests(id) ON DELETE SET NULL,
    suggested_score      REAL,
    resolved_at          TEXT,
    created_by           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX feedback_items_source ON feedback_items(source, source_key) WHERE source_key IS NOT NULL;
CREATE INDEX feedback_items_request ON feedback_items(request_id);
CREATE INDEX feedback_items_account ON feedback_items(account_id, created_at);

CREATE TABLE request_events (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES feature_requests(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    source     TEXT NOT NULL CHECK (source IN ('app', 'api', 'webhook')),
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX request_events_request ON request_events(request_id, id);

CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    outcome     TEXT NOT NULL
);

-- The keyword lists are versioned configuration too.
CREATE TABLE config_versions_next (
    kind     TEXT NOT NULL CHECK (kind IN ('segment_scorecards', 'forecast_model', 'plan_templates', 'journey', 'voice_keywords')),
    version  INTEGER NOT NULL CHECK (version >= 1),
    body     TEXT NOT NULL,
    saved_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
INSERT INTO config_versions_next SELECT kind, version, body, saved_by, saved_at FROM config_versions;
DROP TABLE config_versions;
ALTER TABLE config_versions_next RENAME TO config_versions;
