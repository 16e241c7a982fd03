-- Every time in the core tables becomes REAL unix seconds (UTC), the store's one time encoding;
-- they were ISO-8601 text. The API, pages and CLI still show ISO-8601 (core.store.iso).
--
-- SQLite cannot change a column's type, and a REAL written into a TEXT column is kept as text.
-- sites, aps and users are parents of other packages' tables, and the store runs a migration in
-- one transaction with foreign keys on, where dropping a parent deletes its rows and cascades to
-- the children: so their time columns are replaced in place (add, fill, drop the old one, take
-- its name). A column added that way can be NOT NULL only with a default; 0 is never written.
-- The columns were the last of each table and keep their order. api_tokens and audit_log have
-- no children and are rebuilt as they were.
-- julianday() keeps about 1e-5 s, so the seconds are rounded to the millisecond: an ISO time on
-- a whole second stays on it.

ALTER TABLE sites ADD COLUMN created_at_unix REAL NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN updated_at_unix REAL NOT NULL DEFAULT 0;
UPDATE sites SET created_at_unix = round((julianday(created_at) - 2440587.5) * 86400.0, 3),
                 updated_at_unix = round((julianday(updated_at) - 2440587.5) * 86400.0, 3);
ALTER TABLE sites DROP COLUMN created_at;
ALTER TABLE sites DROP COLUMN updated_at;
ALTER TABLE sites RENAME COLUMN created_at_unix TO created_at;
ALTER TABLE sites RENAME COLUMN updated_at_unix TO updated_at;

ALTER TABLE aps ADD COLUMN created_at_unix REAL NOT NULL DEFAULT 0;
ALTER TABLE aps ADD COLUMN updated_at_unix REAL NOT NULL DEFAULT 0;
UPDATE aps SET created_at_unix = round((julianday(created_at) - 2440587.5) * 86400.0, 3),
               updated_at_unix = round((julianday(updated_at) - 2440587.5) * 86400.0, 3);
ALTER TABLE aps DROP COLUMN created_at;
ALTER TABLE aps DROP COLUMN updated_at;
ALTER TABLE aps RENAME COLUMN created_at_unix TO created_at;
ALTER TABLE aps RENAME COLUMN updated_at_unix TO updated_at;

ALTER TABLE users ADD COLUMN created_at_unix REAL NOT NULL DEFAULT 0;
UPDATE users SET created_at_unix = round((julianday(created_at) - 2440587.5) * 86400.0, 3);
ALTER TABLE users DROP COLUMN created_at;
ALTER TABLE users RENAME COLUMN created_at_unix TO created_at;

CREATE TABLE api_tokens_unix (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    REAL NOT NULL,          -- unix seconds
    last_used_at  REAL
);
INSERT INTO api_tokens_unix (id, user_id, name, token_sha256, created_at, last_used_at)
    SELECT id, user_id, name, token_sha256,
           round((julianday(created_at) - 2440587.5) * 86400.0, 3),
           round((julianday(last_used_at) - 2440587.5) * 86400.0, 3) FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_unix RENAME TO api_tokens;

CREATE TABLE audit_log_unix (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,               -- unix seconds
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,               -- e.g. ap.create, site.update, user.login
    target_type TEXT,
    target_id   TEXT,
    detail      TEXT                         -- JSON, secrets never included
);
INSERT INTO audit_log_unix (id, at, actor, action, target_type, target_id, detail)
    SELECT id, round((julianday(at) - 2440587.5) * 86400.0, 3), actor, action, target_type,
           target_id, detail FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_unix RENAME TO audit_log;
CREATE INDEX audit_at ON audit_log(at);
