-- Playbooks, their runs, tasks, the outbox of messages to send, and the facts rules react
-- to (account field changes, survey answers).

-- Every saved version of a playbook; runs keep the version they started with.
CREATE TABLE playbook_versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    spec       TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

-- One row per firing of a playbook's rule for an account: a run, or a held-out control.
CREATE TABLE playbook_runs (
    id         INTEGER PRIMARY KEY,
    playbook   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    fired_on   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'completed', 'held_out', 'cancelled')),
    cursor     INTEGER NOT NULL DEFAULT 0,
    resume_on  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (playbook, version) REFERENCES playbook_versions(name, version)
);
CREATE INDEX playbook_runs_account ON playbook_runs(playbook, account_id, fired_on);
CREATE INDEX playbook_runs_status ON playbook_runs(status, resume_on);

CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    run_id        INTEGER REFERENCES playbook_runs(id) ON DELETE SET NULL,
    phase         TEXT,
    deliverable   TEXT,
    owner_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    title         TEXT NOT NULL,
    instructions  TEXT,
    priority      TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due_on        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    snoozed_until TEXT,
    outcome       TEXT,
    note          TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    completed_at  TEXT
);
CREATE INDEX tasks_owner ON tasks(owner_id, status, due_on);
CREATE INDEX tasks_account ON tasks(account_id, status);
CREATE INDEX tasks_run ON tasks(run_id);

-- Messages to send. A message is written in the same transaction as what caused it and
-- sent later; its idempotency key travels with it (Message-ID, Idempotency-Key header).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    account_id      INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    contact_id      INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    run_id          INTEGER REFERENCES playbook_runs(id) ON DELETE SET NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT,
    body            TEXT NOT NULL,
    format          TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox(recipient, created_at);

CREATE TABLE unsubscribes (
    email      TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

-- Changes of account fields and stakeholder roles, for rules on "a field changed".
CREATE TABLE account_changes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    changed_at TEXT NOT NULL
);
CREATE INDEX account_changes_at ON account_changes(changed_at);

CREATE TABLE survey_responses (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id  INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    score       INTEGER NOT NULL,
    comment     TEXT,
    answered_at TEXT NOT NULL
);
CREATE INDEX survey_responses_at ON survey_responses(answered_at);
CREATE INDEX survey_responses_account ON survey_responses(account_id, answered_at);
