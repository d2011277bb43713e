-- The cohorts table names its cohorts by owner and by partner: renaming a person or a
-- partner moves the book stamp (0021) too, so a kept table shows the new name.
CREATE TRIGGER book_stamp_users_name AFTER UPDATE OF name ON users
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER book_stamp_partners_name AFTER UPDATE OF name ON partners
BEGIN UPDATE book_stamp SET n = n + 1 WHERE id = 1; END;
