-- What Mikawaya computed about each account, beside it so that lists sort and filter by it:
-- the health in force and its 30-day change and the forecast's churn probability (written
-- by the daily run), and the last touchpoint (kept by the triggers below).
CREATE TABLE account_signals (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    day           TEXT,
    health        REAL,
    health_change REAL,
    forecast_risk REAL,
    -- The forecast's top factors raising the risk (metric names), a JSON array.
    forecast_factors TEXT NOT NULL DEFAULT '[]',
    last_touch_at TEXT
);

INSERT INTO account_signals (account_id, last_touch_at)
    SELECT account_id, MAX(occurred_at) FROM touchpoints GROUP BY account_id;

CREATE TRIGGER touchpoints_last_touch_insert AFTER INSERT ON touchpoints BEGIN
    INSERT INTO account_signals (account_id, last_touch_at) VALUES (NEW.account_id, NEW.occurred_at)
        ON CONFLICT (account_id) DO UPDATE SET
            last_touch_at = MAX(COALESCE(last_touch_at, ''), excluded.last_touch_at);
END;

CREATE TRIGGER touchpoints_last_touch_delete AFTER DELETE ON touchpoints BEGIN
    UPDATE account_signals
       SET last_touch_at = (SELECT MAX(occurred_at) FROM touchpoints WHERE account_id = OLD.account_id)
     WHERE account_id = OLD.account_id;
END;

-- A person's "not now" on an account in their Today list: hidden until a day, with why.
CREATE TABLE attention_snoozes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    until      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
