-- Plans named in any language: a plan is stored as a slug; a file's label (プロ, Pro
-- (annual)) becomes its display name.
CREATE TABLE plan_names (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- Saved import mappings are versioned configuration too.
CREATE TABLE config_versions_next (
    kind     TEXT NOT NULL CHECK (kind IN ('segment_scorecards', 'forecast_model', 'plan_templates', 'journey', 'voice_keywords', 'import_mappings')),
    version  INTEGER NOT NULL CHECK (version >= 1),
    body     TEXT NOT NULL,
    saved_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
INSERT INTO config_versions_next SELECT kind, version, body, saved_by, saved_at FROM config_versions;
DROP TABLE config_versions;
ALTER TABLE config_versions_next RENAME TO config_versions;
