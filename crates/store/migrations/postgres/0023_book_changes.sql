-- Which accounts each move of the book stamp changed (migrations/0023 is its SQLite twin):
-- sums kept over the book (the team's workload) are brought up to date by reading those
-- accounts again. Statement-level triggers read the changed rows from transition tables,
-- so a statement writing many accounts moves the stamp once and names each of them.
ALTER TABLE book_stamp ADD COLUMN changes_from BIGINT NOT NULL DEFAULT 0;
UPDATE book_stamp SET changes_from = n WHERE id = 1;

CREATE TABLE book_changes (
    stamp      BIGINT NOT NULL,
    account_id BIGINT NOT NULL
);
CREATE INDEX book_changes_stamp ON book_changes(stamp);

-- TG_ARGV[0]: the changed rows' column naming the account. An insert's rows are in
-- `changed_new`, a delete's in `changed_old`, an update's in both (an account may move).
CREATE FUNCTION book_changes_name() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp BIGINT;
    named TEXT := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT %1$I FROM changed_new'
        WHEN 'DELETE' THEN 'SELECT %1$I FROM changed_old'
        ELSE 'SELECT %1$I FROM changed_old UNION SELECT %1$I FROM changed_new' END;
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1 RETURNING n INTO stamp;
    EXECUTE format('INSERT INTO book_changes (stamp, account_id) SELECT DISTINCT $1, a FROM ('
        || named || ') AS changed(a)', TG_ARGV[0]) USING stamp;
    RETURN NULL;
END
$$;

DROP TRIGGER book_stamp_accounts_insert ON accounts;
DROP TRIGGER book_stamp_accounts_update ON accounts;
DROP TRIGGER book_stamp_accounts_delete ON accounts;
DROP TRIGGER book_stamp_subscriptions_insert ON subscriptions;
DROP TRIGGER book_stamp_subscriptions_update ON subscriptions;
DROP TRIGGER book_stamp_subscriptions_delete ON subscriptions;
CREATE TRIGGER book_stamp_accounts_insert AFTER INSERT ON accounts REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('id');
CREATE TRIGGER book_stamp_accounts_update AFTER UPDATE ON accounts REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('id');
CREATE TRIGGER book_stamp_accounts_delete AFTER DELETE ON accounts REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('id');
CREATE TRIGGER book_stamp_subscriptions_insert AFTER INSERT ON subscriptions REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('account_id');
CREATE TRIGGER book_stamp_subscriptions_update AFTER UPDATE ON subscriptions REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('account_id');
CREATE TRIGGER book_stamp_subscriptions_delete AFTER DELETE ON subscriptions REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION book_changes_name('account_id');
