-- Monitoring: events (traps, state changes), alerts and downsampled metrics.
CREATE TABLE ap_events (
    id      INTEGER PRIMARY KEY,
    ap_id   INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,        -- linkDown, linkUp, coldStart, warmStart, authenticationFailure, state
    source  TEXT NOT NULL,        -- trap, poller
    detail  TEXT                  -- JSON
);
CREATE INDEX ap_events_ap_at ON ap_events(ap_id, at);

CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    ap_id      INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,     -- ap_down, clients_over_capacity, interface_errors
    severity   TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    opened_at  TEXT NOT NULL,
    cleared_at TEXT,
    detail     TEXT               -- JSON
);
-- At most one open alert of a kind per AP.
CREATE UNIQUE INDEX alerts_open ON alerts(ap_id, kind) WHERE cleared_at IS NULL;

-- One row per AP per poll (kept retention.raw_hours).
CREATE TABLE metrics_raw (
    ap_id     INTEGER NOT NULL,
    at        INTEGER NOT NULL,   -- unix seconds
    up        INTEGER NOT NULL,   -- 1 if the poll answered
    clients   INTEGER,
    in_bps    REAL,
    out_bps   REAL,
    in_pps    REAL,
    out_pps   REAL,
    errors_ps REAL,
    PRIMARY KEY (ap_id, at)
) WITHOUT ROWID;

-- Hourly roll-up (kept retention.hourly_days).
CREATE TABLE metrics_hourly (
    ap_id        INTEGER NOT NULL,
    hour         INTEGER NOT NULL, -- unix seconds at the start of the hour
    samples      INTEGER NOT NULL,
    up_samples   INTEGER NOT NULL,
    clients_avg  REAL,
    clients_max  INTEGER,
    in_bps_avg   REAL,
    out_bps_avg  REAL,
    in_bps_max   REAL,
    out_bps_max  REAL,
    errors_ps_avg REAL,
    PRIMARY KEY (ap_id, hour)
) WITHOUT ROWID;
