-- A CSM's manual pulse on an account: a 0-100 judgement with the reason for it.
CREATE TABLE pulses (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    score      INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pulses_account ON pulses(account_id, created_at);
