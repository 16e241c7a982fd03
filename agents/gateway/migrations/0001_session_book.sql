-- The gateway's session book: the clients it lets through, written through from memory and read
-- back at start-up. Releases before numbered migrations created this table inline; IF NOT EXISTS
-- adopts such a file as it is.
CREATE TABLE IF NOT EXISTS clients (
    mac             TEXT PRIMARY KEY,
    ip              TEXT NOT NULL UNIQUE,
    session_id      INTEGER NOT NULL,
    started_at      REAL NOT NULL,                -- unix seconds
    expires_at      REAL NOT NULL,
    quota_bytes     INTEGER NOT NULL,
    idle_timeout_s  INTEGER NOT NULL,
    rate_up_kbps    INTEGER NOT NULL,
    rate_down_kbps  INTEGER NOT NULL,
    bytes_up        INTEGER NOT NULL DEFAULT 0,
    bytes_down      INTEGER NOT NULL DEFAULT 0,
    last_seen       REAL NOT NULL
);
