-- Health score snapshots: one row per scorecard, account and day, so pages read scores
-- and their history instead of recomputing them.
CREATE TABLE health_scores (
    scorecard  TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    score      REAL,
    colour     TEXT CHECK (colour IS NULL OR colour IN ('red', 'yellow', 'green')),
    measures   TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (scorecard, account_id, day)
);
CREATE INDEX health_scores_day ON health_scores(scorecard, day);
