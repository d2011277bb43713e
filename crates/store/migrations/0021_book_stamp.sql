-- A counter that moves whenever the book itself changes: accounts, subscriptions, the
-- account change log, and the accounts' signals (moved by the store where it writes
-- them). Not touchpoints, survey answers or pulses, which move only the history stamp
-- (0013): the leaders' sums over the book (the team's workload, the cohorts table) are
-- kept while this one stands, so a CSM logging a call does not make them be summed again.
CREATE TABLE book_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO book_stamp (id, n) VALUES (1, 0);

CREATE TRIGGER book_stamp_accounts_insert AFTER INSERT ON accounts
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_accounts_update AFTER UPDATE ON accounts
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_accounts_delete AFTER DELETE ON accounts
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_subscriptions_insert AFTER INSERT ON subscriptions
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_subscriptions_update AFTER UPDATE ON subscriptions
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_subscriptions_delete AFTER DELETE ON subscriptions
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_account_changes_insert AFTER INSERT ON account_changes
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_account_changes_update AFTER UPDATE ON account_changes
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_account_changes_delete AFTER DELETE ON account_changes
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
