-- Planned maintenance: alerts for what it covers are held back, and the KPI reports leave its
-- time out of availability. A window covers one AP, one site, or (both NULL) the whole network.
CREATE TABLE maintenance_windows (
    id          INTEGER PRIMARY KEY,
    ap_id       INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    site_id     INTEGER REFERENCES sites(id) ON DELETE CASCADE,
    starts_at   REAL NOT NULL,              -- unix seconds
    ends_at     REAL NOT NULL,              -- unix seconds, after starts_at
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (ap_id IS NULL OR site_id IS NULL)
);
CREATE INDEX maintenance_windows_span ON maintenance_windows(starts_at, ends_at);
