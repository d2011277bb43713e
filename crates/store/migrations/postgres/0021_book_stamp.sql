-- The book stamp (migrations/0021 is its SQLite twin): moved by statement-level triggers
-- on accounts, subscriptions and the account change log, and by the store where it writes
-- the accounts' signals; the leaders' sums over the book are kept while it stands.
CREATE TABLE book_stamp (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO book_stamp (id, n) VALUES (1, 0);

CREATE FUNCTION book_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE book_stamp SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER book_stamp_accounts_insert AFTER INSERT ON accounts FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_accounts_update AFTER UPDATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_accounts_delete AFTER DELETE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_subscriptions_insert AFTER INSERT ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_subscriptions_update AFTER UPDATE ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_subscriptions_delete AFTER DELETE ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_account_changes_insert AFTER INSERT ON account_changes FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_account_changes_update AFTER UPDATE ON account_changes FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_account_changes_delete AFTER DELETE ON account_changes FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
