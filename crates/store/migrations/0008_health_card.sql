-- Every stored health score records the scorecard that made it (a segment card or the
-- built-in default); rows stored before this version were all made by `default`.
ALTER TABLE health_scores ADD COLUMN card TEXT NOT NULL DEFAULT 'default';
