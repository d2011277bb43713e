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

-- Every account has its row (lists sorted by a signal join it, and read it by index).
INSERT INTO account_signals (account_id, last_touch_at)
    SELECT a.id, (SELECT MAX(t.occurred_at) FROM touchpoints t WHERE t.account_id = a.id)
      FROM accounts a;

CREATE TRIGGER accounts_signals_row AFTER INSERT ON accounts BEGIN
    INSERT INTO account_signals (account_id) VALUES (NEW.id) ON CONFLICT (account_id) DO NOTHING;
END;

-- The sort keys of the portfolio (accounts without a value last in either direction).
CREATE INDEX account_signals_health_up ON account_signals(COALESCE(health, 1.0e9), account_id);
CREATE INDEX account_signals_health_down ON account_signals(COALESCE(health, -1.0e9), account_id);
CREATE INDEX account_signals_change_up ON account_signals(COALESCE(health_change, 1.0e9), account_id);
CREATE INDEX account_signals_change_down ON account_signals(COALESCE(health_change, -1.0e9), account_id);
CREATE INDEX account_signals_risk_up ON account_signals(COALESCE(forecast_risk, 1.0e9), account_id);
CREATE INDEX account_signals_risk_down ON account_signals(COALESCE(forecast_risk, -1.0e9), account_id);
CREATE INDEX account_signals_touch ON account_signals(COALESCE(last_touch_at, ''), account_id);

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
