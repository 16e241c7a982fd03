-- The reference back office: what it received (each message once, copies counted) and the
-- status updates it sends until acknowledged. Releases before numbered migrations created these
-- tables inline; IF NOT EXISTS adopts such a file as it is.
CREATE TABLE IF NOT EXISTS received (
    message_id  TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    tracking    TEXT,
    payload     TEXT NOT NULL,
    received_at REAL NOT NULL,                    -- unix seconds
    copies      INTEGER NOT NULL DEFAULT 1,
    status      TEXT
);
CREATE TABLE IF NOT EXISTS status_outbox (
    update_id        TEXT PRIMARY KEY,
    tracking         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    acked            INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL
);
