-- Which accounts each move of the book stamp (0021) changed, so sums kept over the book
-- (the team's workload) are brought up to date by reading those accounts again instead of
-- the whole book. `changes_from`: changes at or below it are not itemized (before this
-- migration, or dropped when the store wrote the whole book's signals at that stamp); a
-- reader whose sums are older reads the whole book again.
ALTER TABLE book_stamp ADD COLUMN changes_from INTEGER NOT NULL DEFAULT 0;
UPDATE book_stamp SET changes_from = n WHERE id = 1;

CREATE TABLE book_changes (
    stamp      INTEGER NOT NULL,
    account_id INTEGER NOT NULL
);
CREATE INDEX book_changes_stamp ON book_changes(stamp);

-- Accounts and subscriptions: the stamp moves and the account is named, in one trigger so
-- the change carries the stamp it made.
DROP TRIGGER book_stamp_accounts_insert;
DROP TRIGGER book_stamp_accounts_update;
DROP TRIGGER book_stamp_accounts_delete;
DROP TRIGGER book_stamp_subscriptions_insert;
DROP TRIGGER book_stamp_subscriptions_update;
DROP TRIGGER book_stamp_subscriptions_delete;
CREATE TRIGGER book_stamp_accounts_insert AFTER INSERT ON accounts
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id) SELECT n, NEW.id FROM book_stamp WHERE id = 1;
END;
CREATE TRIGGER book_stamp_accounts_update AFTER UPDATE ON accounts
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id) SELECT n, NEW.id FROM book_stamp WHERE id = 1;
END;
CREATE TRIGGER book_stamp_accounts_delete AFTER DELETE ON accounts
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id) SELECT n, OLD.id FROM book_stamp WHERE id = 1;
END;
CREATE TRIGGER book_stamp_subscriptions_insert AFTER INSERT ON subscriptions
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id) SELECT n, NEW.account_id FROM book_stamp WHERE id = 1;
END;
CREATE TRIGGER book_stamp_subscriptions_update AFTER UPDATE ON subscriptions
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id)
        SELECT n, OLD.account_id FROM book_stamp WHERE id = 1
        UNION SELECT n, NEW.account_id FROM book_stamp WHERE id = 1;
END;
CREATE TRIGGER book_stamp_subscriptions_delete AFTER DELETE ON subscriptions
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    INSERT INTO book_changes (stamp, account_id) SELECT n, OLD.account_id FROM book_stamp WHERE id = 1;
END;
