-- Success plans (expectation alignment): one document per plan, with the columns lists and
-- filters need kept beside it; the history of every change; the objectives' measured
-- progress; and the links that share a plan with a customer's contacts.
CREATE TABLE success_plans (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'completed', 'cancelled')),
    owner_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    body           TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    -- Objectives off track or missed (measured, or set by hand), and the earliest due day
    -- of an open milestone: what the portfolio and the leader's view filter on.
    objectives_bad INTEGER NOT NULL DEFAULT 0,
    next_due       TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX success_plans_account ON success_plans(account_id);
CREATE INDEX success_plans_status ON success_plans(status, objectives_bad);

CREATE TABLE plan_events (
    id          INTEGER PRIMARY KEY,
    plan_id     INTEGER NOT NULL REFERENCES success_plans(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    author_kind TEXT CHECK (author_kind IN ('user', 'contact')),
    author_id   INTEGER,
    kind        TEXT NOT NULL,
    item        INTEGER,
    text        TEXT NOT NULL
);
CREATE INDEX plan_events_plan ON plan_events(plan_id, id);
CREATE INDEX plan_events_account ON plan_events(account_id, at);
CREATE INDEX plan_events_at ON plan_events(at, kind);

CREATE TABLE plan_progress (
    plan_id     INTEGER NOT NULL REFERENCES success_plans(id) ON DELETE CASCADE,
    objective   INTEGER NOT NULL,
    day         TEXT NOT NULL,
    baseline    REAL,
    value       REAL,
    expected    REAL NOT NULL,
    actual      REAL,
    status      TEXT NOT NULL,
    achieved_on TEXT,
    PRIMARY KEY (plan_id, objective)
);

CREATE TABLE plan_shares (
    id             INTEGER PRIMARY KEY,
    plan_id        INTEGER NOT NULL REFERENCES success_plans(id) ON DELETE CASCADE,
    contact_id     INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    created_by     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    last_opened_at TEXT
);
CREATE INDEX plan_shares_plan ON plan_shares(plan_id);

-- Plan templates and the journey's stages are versioned configuration too.
CREATE TABLE config_versions_next (
    kind     TEXT NOT NULL CHECK (kind IN ('segment_scorecards', 'forecast_model', 'plan_templates', 'journey')),
    version  INTEGER NOT NULL CHECK (version >= 1),
    body     TEXT NOT NULL,
    saved_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
INSERT INTO config_versions_next SELECT kind, version, body, saved_by, saved_at FROM config_versions;
DROP TABLE config_versions;
ALTER TABLE config_versions_next RENAME TO config_versions;

-- Each account's plans in its signals row, kept by triggers, so lists filter on them like on
-- health: how many active plans have an objective off track or missed, and the earliest
-- due day of an open milestone.
ALTER TABLE account_signals ADD COLUMN plans_off_track INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_signals ADD COLUMN plan_next_due TEXT;
CREATE INDEX account_signals_plans ON account_signals(plans_off_track, plan_next_due);
CREATE TRIGGER success_plans_signals_insert AFTER INSERT ON success_plans
BEGIN
    UPDATE account_signals SET
        plans_off_track = (SELECT COUNT(*) FROM success_plans
            WHERE account_id = NEW.account_id AND status = 'active' AND objectives_bad > 0),
        plan_next_due = (SELECT MIN(next_due) FROM success_plans
            WHERE account_id = NEW.account_id AND status = 'active')
    WHERE account_id = NEW.account_id;
END;
CREATE TRIGGER success_plans_signals_update AFTER UPDATE ON success_plans
BEGIN
    UPDATE account_signals SET
        plans_off_track = (SELECT COUNT(*) FROM success_plans
            WHERE account_id = NEW.account_id AND status = 'active' AND objectives_bad > 0),
        plan_next_due = (SELECT MIN(next_due) FROM success_plans
            WHERE account_id = NEW.account_id AND status = 'active')
    WHERE account_id = NEW.account_id;
END;
CREATE TRIGGER success_plans_signals_delete AFTER DELETE ON success_plans
BEGIN
    UPDATE account_signals SET
        plans_off_track = (SELECT COUNT(*) FROM success_plans
            WHERE account_id = OLD.account_id AND status = 'active' AND objectives_bad > 0),
        plan_next_due = (SELECT MIN(next_due) FROM success_plans
            WHERE account_id = OLD.account_id AND status = 'active')
    WHERE account_id = OLD.account_id;
END;
