-- A counter that moves whenever the rows a backtest reads change: accounts, subscriptions,
-- touchpoints, survey answers, pulses and the change log. Work that reads the whole book's
-- history (the scorecard editor's backtests) keeps what it read while the counter stands.
CREATE TABLE history_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO history_stamp (id, n) VALUES (1, 0);

CREATE TRIGGER history_stamp_accounts_insert AFTER INSERT ON accounts
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_accounts_update AFTER UPDATE ON accounts
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_accounts_delete AFTER DELETE ON accounts
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_subscriptions_insert AFTER INSERT ON subscriptions
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_subscriptions_update AFTER UPDATE ON subscriptions
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_subscriptions_delete AFTER DELETE ON subscriptions
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_touchpoints_insert AFTER INSERT ON touchpoints
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_touchpoints_update AFTER UPDATE ON touchpoints
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_touchpoints_delete AFTER DELETE ON touchpoints
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_survey_responses_insert AFTER INSERT ON survey_responses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_survey_responses_update AFTER UPDATE ON survey_responses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_survey_responses_delete AFTER DELETE ON survey_responses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_pulses_insert AFTER INSERT ON pulses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_pulses_update AFTER UPDATE ON pulses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_pulses_delete AFTER DELETE ON pulses
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_account_changes_insert AFTER INSERT ON account_changes
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_account_changes_update AFTER UPDATE ON account_changes
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER history_stamp_account_changes_delete AFTER DELETE ON account_changes
BEGIN UPDATE history_stamp SET n = n + 1 WHERE id = 1; END;
