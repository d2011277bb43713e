-- The customer journey: every entry of an account into a lifecycle stage (by the journey's
-- rules, by hand, or loaded with an import), so time in stage and conversion have a
-- history; and beside each account, the day it entered its current stage and whether the
-- daily run found it stuck there.
CREATE TABLE stage_entries (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL,
    entered_on  TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('rule', 'hand', 'import')),
    actor_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX stage_entries_account ON stage_entries(account_id, entered_on, id);

-- Accounts that already had a stage entered it when their contract started (or when they
-- were made).
INSERT INTO stage_entries (account_id, stage, entered_on, source, recorded_at)
    SELECT id, stage, COALESCE(contract_start, substr(created_at, 1, 10)), 'import', created_at
      FROM accounts WHERE stage IS NOT NULL;

ALTER TABLE account_signals ADD COLUMN stage_since TEXT;
ALTER TABLE account_signals ADD COLUMN stage_stuck INTEGER NOT NULL DEFAULT 0;
CREATE INDEX account_signals_stuck ON account_signals(stage_stuck);

UPDATE account_signals SET stage_since = (
    SELECT e.entered_on FROM stage_entries e WHERE e.account_id = account_signals.account_id
     ORDER BY e.entered_on DESC, e.id DESC LIMIT 1);

-- A new entry starts a new stay: its day, and not stuck (yet).
CREATE TRIGGER stage_entries_since AFTER INSERT ON stage_entries BEGIN
    UPDATE account_signals SET
        stage_since = (SELECT e.entered_on FROM stage_entries e WHERE e.account_id = NEW.account_id
                        ORDER BY e.entered_on DESC, e.id DESC LIMIT 1),
        stage_stuck = 0
     WHERE account_id = NEW.account_id;
END;
