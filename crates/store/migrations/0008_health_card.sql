-- Every stored health score records the scorecard that made it (a segment card or the
-- built-in default) and the version of the saved segment scorecards then in force (0: none
-- saved); rows stored before this version were all made by `default`.
ALTER TABLE health_scores ADD COLUMN card TEXT NOT NULL DEFAULT 'default';
ALTER TABLE health_scores ADD COLUMN cards_version INTEGER NOT NULL DEFAULT 0;
