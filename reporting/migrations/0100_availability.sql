-- AP availability facts. Raw transitions are kept as they were recorded, so any window can be
-- recomputed; state intervals are derived from them as they arrive (one row per state run, the
-- open run has ended_at NULL) and are what the KPIs read. 'unknown' runs (no data: the AP left
-- the inventory or monitoring stopped) keep each AP's timeline contiguous from its first state. site_id is the AP's site when the
-- state began. No foreign keys: an AP's history outlives its removal from the inventory.
CREATE TABLE kpi_ap_transitions (
    id       INTEGER PRIMARY KEY,
    ap_id    INTEGER NOT NULL,
    site_id  INTEGER,
    at       REAL NOT NULL,                 -- unix seconds
    state    TEXT NOT NULL CHECK (state IN ('up', 'down', 'parent_down', 'unknown')),
    source   TEXT NOT NULL DEFAULT 'poller' -- poller, history
);
CREATE INDEX kpi_ap_transitions_ap_at ON kpi_ap_transitions(ap_id, at);

CREATE TABLE kpi_ap_intervals (
    id          INTEGER PRIMARY KEY,
    ap_id       INTEGER NOT NULL,
    site_id     INTEGER,
    state       TEXT NOT NULL CHECK (state IN ('up', 'down', 'parent_down', 'unknown')),
    started_at  REAL NOT NULL,              -- unix seconds
    ended_at    REAL                        -- unix seconds; NULL while the state lasts
);
-- Periods select by "ends after the start and starts before the end": the covering index
-- answers that without touching the table.
CREATE INDEX kpi_ap_intervals_span ON kpi_ap_intervals(ended_at, started_at, ap_id, site_id, state);
CREATE INDEX kpi_ap_intervals_ap ON kpi_ap_intervals(ap_id, started_at);
CREATE UNIQUE INDEX kpi_ap_intervals_open ON kpi_ap_intervals(ap_id) WHERE ended_at IS NULL;
