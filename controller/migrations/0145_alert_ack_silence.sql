-- Alerts someone has taken (acknowledged: who, when, a note), alerts of the whole 940 pipeline
-- (scope 'reports': neither an AP nor a branch), and silences: no notification for what a
-- silence covers (one alert, or a kind and/or an AP and/or a site) until it ends.
ALTER TABLE alerts ADD COLUMN acked_by TEXT;
ALTER TABLE alerts ADD COLUMN acked_at REAL;           -- unix seconds
ALTER TABLE alerts ADD COLUMN ack_note TEXT;
ALTER TABLE alerts ADD COLUMN scope TEXT;              -- 'reports': the 940 pipeline
CREATE UNIQUE INDEX alerts_open_scope ON alerts(scope, kind)
    WHERE cleared_at IS NULL AND scope IS NOT NULL;

CREATE TABLE alert_silences (
    id            INTEGER PRIMARY KEY,
    alert_id      INTEGER REFERENCES alerts(id) ON DELETE CASCADE,
    kind          TEXT,
    ap_id         INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    site_id       INTEGER REFERENCES sites(id) ON DELETE CASCADE,
    starts_at     REAL NOT NULL,                       -- unix seconds
    ends_at       REAL NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    REAL NOT NULL,
    cancelled_by  TEXT,
    cancelled_at  REAL,
    CHECK (ends_at > starts_at),
    CHECK (alert_id IS NOT NULL OR kind IS NOT NULL OR ap_id IS NOT NULL OR site_id IS NOT NULL)
);
CREATE INDEX alert_silences_span ON alert_silences(starts_at, ends_at);
