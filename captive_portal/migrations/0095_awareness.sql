-- Awareness messages: what an operator sent to a site's recent reporters, and to whom. Each
-- recipient is handed to the SMS gateway (sms_messages, purpose 'awareness') at the campaign's
-- pace; opted_out marks a number that said STOP between the preview and its turn.
CREATE TABLE awareness_campaigns (
    id              INTEGER PRIMARY KEY,
    site            TEXT NOT NULL,                 -- site slug whose reporters it went to
    since           REAL NOT NULL,                 -- reports filed from this time (unix seconds)
    body_ar         TEXT NOT NULL,
    body_en         TEXT NOT NULL,
    recipients      INTEGER NOT NULL,
    segments        INTEGER NOT NULL,              -- SMS segments of every recipient, summed
    segment_price   REAL NOT NULL,                 -- the price per segment when it was sent
    currency        TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      REAL NOT NULL
);
CREATE INDEX awareness_campaigns_created ON awareness_campaigns(created_at);

CREATE TABLE awareness_recipients (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES awareness_campaigns(id) ON DELETE CASCADE,
    to_number    TEXT NOT NULL,                    -- E.164
    locale       TEXT NOT NULL,                    -- ar or en: which text they get
    handed_at    REAL,                             -- given to the SMS gateway (NULL: waiting)
    sms_id       INTEGER REFERENCES sms_messages(id),
    opted_out    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, to_number)
);
CREATE INDEX awareness_recipients_waiting ON awareness_recipients(handed_at, id);
