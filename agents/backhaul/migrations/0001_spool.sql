-- The branch agent's telemetry spool: state and events not yet acknowledged by the broker.
-- Releases before numbered migrations created this table inline; IF NOT EXISTS adopts such a
-- file as it is.
CREATE TABLE IF NOT EXISTS outbox (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT NOT NULL,
    schema   TEXT NOT NULL,
    payload  TEXT NOT NULL,
    retain   INTEGER NOT NULL
);
