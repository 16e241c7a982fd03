-- SMS delivery state: queued -> submitted (the gateway took it, with its id) -> delivered,
-- failed or expired from the gateway's receipts; the encoding (gsm7/ucs2) and segment count of
-- each message; receipts kept as they arrive (one may overtake the gateway's answer to the send).
--
-- The state's CHECK changes, which SQLite can only do by rebuilding the table. sms_messages is
-- the parent of report_notifications.sms_id, and a migration runs in one transaction with
-- foreign keys on, where dropping a parent that children refer to fails: the references are
-- set aside, the table rebuilt, and the references put back.
-- Old states map as: sent -> submitted; failed (to be retried) -> queued (its next attempt
-- kept); abandoned -> failed.
CREATE TEMP TABLE sms_refs AS
    SELECT id, sms_id FROM report_notifications WHERE sms_id IS NOT NULL;
UPDATE report_notifications SET sms_id = NULL WHERE sms_id IS NOT NULL;

CREATE TABLE sms_messages_new (
    id               INTEGER PRIMARY KEY,
    to_number        TEXT NOT NULL,              -- E.164
    body             TEXT NOT NULL,
    purpose          TEXT NOT NULL,              -- login_code, report_status, closure_code, ...
    locale           TEXT NOT NULL,
    driver           TEXT NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('queued', 'submitted', 'delivered', 'failed', 'expired')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    provider_id      TEXT,                       -- the gateway's id for it, once submitted
    last_error       TEXT,                       -- why the gateway did not take it
    next_attempt_at  REAL,                       -- unix seconds; NULL when nothing is due
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    encoding         TEXT CHECK (encoding IN ('gsm7', 'ucs2')),  -- NULL: sent before 0090
    segments         INTEGER,
    submitted_at     REAL,
    final_at         REAL,                       -- the receipt's time: delivered/failed/expired
    receipt_detail   TEXT                        -- the gateway's words in its last receipt
);
INSERT INTO sms_messages_new (id, to_number, body, purpose, locale, driver, state, attempts,
                              provider_id, last_error, next_attempt_at, created_at, updated_at,
                              submitted_at)
    SELECT id, to_number, body, purpose, locale, driver,
           CASE state WHEN 'sent' THEN 'submitted' WHEN 'failed' THEN 'queued'
                      WHEN 'abandoned' THEN 'failed' ELSE state END,
           attempts, provider_id, last_error, next_attempt_at, created_at, updated_at,
           CASE WHEN state IN ('sent', 'delivered') THEN updated_at END
    FROM sms_messages;
DROP TABLE sms_messages;
ALTER TABLE sms_messages_new RENAME TO sms_messages;
CREATE INDEX sms_messages_due ON sms_messages(state, next_attempt_at);
CREATE INDEX sms_messages_provider ON sms_messages(provider_id);
CREATE INDEX sms_messages_created ON sms_messages(created_at);

UPDATE report_notifications SET sms_id = (SELECT sms_id FROM sms_refs r
                                          WHERE r.id = report_notifications.id)
 WHERE id IN (SELECT id FROM sms_refs);
DROP TABLE sms_refs;

-- Every receipt as it came; applied_to names the message once one carries its provider id.
CREATE TABLE sms_receipts (
    id           INTEGER PRIMARY KEY,
    provider_id  TEXT NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('submitted', 'buffered', 'delivered', 'failed', 'expired')),
    at           REAL NOT NULL,                  -- the gateway's time for it (unix seconds)
    detail       TEXT,
    received_at  REAL NOT NULL,
    applied_to   INTEGER REFERENCES sms_messages(id) ON DELETE CASCADE
);
CREATE INDEX sms_receipts_pending ON sms_receipts(provider_id, applied_to);
