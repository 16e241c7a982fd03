-- A gateway's created_at becomes REAL unix seconds (UTC), the store's one time encoding, as the
-- portal's other times already are; it was ISO-8601 text.
--
-- SQLite cannot change a column's type, and a REAL written into a TEXT column is kept as text.
-- portal_gateways is the parent of portal_sessions, and the store runs a migration in one
-- transaction with foreign keys on, where dropping a parent fails while children refer to it:
-- so the column is replaced in place (add, fill, drop the old one, take its name). A column
-- added that way can be NOT NULL only with a default; 0 is never written. It now comes after
-- site; nothing reads the table's columns by position.
-- julianday() keeps about 1e-5 s, so the seconds are rounded to the millisecond: an ISO time on
-- a whole second stays on it.
ALTER TABLE portal_gateways ADD COLUMN created_at_unix REAL NOT NULL DEFAULT 0;
UPDATE portal_gateways
   SET created_at_unix = round((julianday(created_at) - 2440587.5) * 86400.0, 3);
ALTER TABLE portal_gateways DROP COLUMN created_at;
ALTER TABLE portal_gateways RENAME COLUMN created_at_unix TO created_at;
