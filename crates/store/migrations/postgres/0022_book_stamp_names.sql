-- Renaming a person or a partner moves the book stamp (migrations/0022 is its SQLite
-- twin): the cohorts table names its cohorts by owner and by partner.
CREATE TRIGGER book_stamp_users_name AFTER UPDATE OF name ON users FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
CREATE TRIGGER book_stamp_partners_name AFTER UPDATE OF name ON partners FOR EACH STATEMENT EXECUTE FUNCTION book_stamp_bump();
