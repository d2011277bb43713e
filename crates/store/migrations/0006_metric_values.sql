-- Stored metric time series: one value per metric, account and day (null: missing).
CREATE TABLE metric_values (
    metric     TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    value      REAL,
    PRIMARY KEY (metric, account_id, day)
);
CREATE INDEX metric_values_day ON metric_values(metric, day);
