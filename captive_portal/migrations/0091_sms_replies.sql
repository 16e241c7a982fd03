-- SMS citizens send us (MO): each recorded once per gateway id with what was done about it;
-- and the numbers that said STOP to awareness messages.
CREATE TABLE sms_incoming (
    id           INTEGER PRIMARY KEY,
    from_number  TEXT NOT NULL,                  -- E.164 when it could be read as a number
    body         TEXT NOT NULL,
    gateway_id   TEXT UNIQUE,                    -- the gateway's id: a repeated delivery is ignored
    at           REAL NOT NULL,                  -- unix seconds
    outcome      TEXT NOT NULL,                  -- closed, reopened, opted_out, help, ...
    report_id    INTEGER,
    reply_sms_id INTEGER REFERENCES sms_messages(id)
);
CREATE INDEX sms_incoming_from ON sms_incoming(from_number, at);

CREATE TABLE sms_opt_outs (
    number  TEXT PRIMARY KEY,                    -- E.164
    at      REAL NOT NULL,
    via     TEXT NOT NULL                        -- sms (a STOP reply), admin
);
