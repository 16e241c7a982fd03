-- Who is told about alerts, how, and what was sent.

-- The on-call rota: people with their contact points and language, and weekly shifts in the
-- municipality's local time ([municipality] timezone). A shift whose end is not after its start
-- runs past midnight. When no shift covers a moment, every active person is on call.
CREATE TABLE oncall_people (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',               -- E.164
    locale     TEXT NOT NULL DEFAULT 'ar' CHECK (locale IN ('ar', 'en')),
    digest     INTEGER NOT NULL DEFAULT 1,             -- receives the periodic digest
    active     INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE TABLE oncall_shifts (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES oncall_people(id) ON DELETE CASCADE,
    weekday    INTEGER CHECK (weekday BETWEEN 1 AND 7), -- ISO (1 Monday .. 7 Sunday); NULL every day
    starts     TEXT NOT NULL,                          -- local HH:MM
    ends       TEXT NOT NULL                           -- local HH:MM
);

-- Per-severity routing: which channels an alert of that severity goes to when it opens and clears.
CREATE TABLE notify_rules (
    severity   TEXT PRIMARY KEY CHECK (severity IN ('critical', 'warning', 'info')),
    email      INTEGER NOT NULL DEFAULT 0,
    sms        INTEGER NOT NULL DEFAULT 0,
    webhook    INTEGER NOT NULL DEFAULT 0,
    on_clear   INTEGER NOT NULL DEFAULT 1              -- also tell when it clears
);
INSERT INTO notify_rules (severity, email, sms, webhook, on_clear) VALUES
    ('critical', 1, 1, 1, 1), ('warning', 1, 0, 1, 1), ('info', 0, 0, 0, 0);

-- Webhook receivers: an HTTP POST of the alert as JSON, signed with HMAC-SHA256 of the body.
CREATE TABLE notify_webhooks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,                         -- encrypted (core.secrets)
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  REAL NOT NULL
);

-- What the router decided for each alert's opening, clearing and reminders: exactly one decision
-- per (alert, phase), so a notification is never routed twice.
CREATE TABLE alert_dispatch (
    alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    phase       TEXT NOT NULL,                         -- open, clear, remind-N
    decided_at  REAL NOT NULL,
    outcome     TEXT NOT NULL,                         -- routed, silenced, maintenance, acked, digest, earlier
    PRIMARY KEY (alert_id, phase)
);

-- The notification outbox: written with the routing decision, sent by the notify worker, kept
-- and retried with backoff while a relay is down. `dedupe` makes a second write a no-op.
CREATE TABLE notify_outbox (
    id               INTEGER PRIMARY KEY,
    dedupe           TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    destination      TEXT NOT NULL,                    -- address, phone, or webhook id
    locale           TEXT NOT NULL DEFAULT 'ar',
    alert_id         INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
    kind             TEXT NOT NULL,                    -- open, clear, remind, digest
    payload          TEXT NOT NULL,                    -- JSON: what to say
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'abandoned')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    created_at       REAL NOT NULL,
    sent_at          REAL,
    last_error       TEXT
);
CREATE INDEX notify_outbox_due ON notify_outbox(state, next_attempt_at);

-- Digests sent: one row per period (its end, unix seconds).
CREATE TABLE notify_digests (
    period_end  REAL PRIMARY KEY,
    period_start REAL NOT NULL,
    decided_at  REAL NOT NULL
);

-- Alerts from before notifications existed are not announced now.
INSERT INTO alert_dispatch (alert_id, phase, decided_at, outcome)
    SELECT id, 'open', opened_at, 'earlier' FROM alerts;
INSERT INTO alert_dispatch (alert_id, phase, decided_at, outcome)
    SELECT id, 'clear', cleared_at, 'earlier' FROM alerts WHERE cleared_at IS NOT NULL;
