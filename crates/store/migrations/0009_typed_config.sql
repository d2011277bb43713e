-- Typed storage for what the untyped meta table used to hold.
-- Versioned configuration: segment scorecards and forecast models, with who and when.
CREATE TABLE config_versions (
    kind     TEXT NOT NULL CHECK (kind IN ('segment_scorecards', 'forecast_model')),
    version  INTEGER NOT NULL CHECK (version >= 1),
    body     TEXT NOT NULL,
    saved_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);

-- The dashboards' numbers per visibility scope (`all` or `partner:<id>`), kept for a day.
CREATE TABLE dashboard_reports (
    scope TEXT PRIMARY KEY,
    day   TEXT NOT NULL,
    body  TEXT NOT NULL
);

-- One row per business day the daily pipeline finished.
CREATE TABLE daily_runs (
    day         TEXT PRIMARY KEY,
    finished_at TEXT NOT NULL,
    fired       INTEGER NOT NULL DEFAULT 0,
    scores      INTEGER NOT NULL DEFAULT 0,
    metric_values INTEGER NOT NULL DEFAULT 0
);

INSERT INTO config_versions (kind, version, body, saved_by, saved_at)
    SELECT 'segment_scorecards', 1, value, NULL, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM meta WHERE key = 'scorecards.segments';
INSERT INTO config_versions (kind, version, body, saved_by, saved_at)
    SELECT 'forecast_model', CAST(substr(key, 16) AS INTEGER), value, NULL,
           strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM meta WHERE key LIKE 'forecast.model.%' AND CAST(substr(key, 16) AS INTEGER) >= 1;
INSERT INTO daily_runs (day, finished_at)
    SELECT value, strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM meta WHERE key = 'rules.last_day';
DELETE FROM meta
    WHERE key IN ('scorecards.segments', 'rules.last_day', 'forecast.latest')
       OR key LIKE 'forecast.model.%'
       OR key LIKE 'report.dashboard.%';
