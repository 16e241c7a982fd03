-- Backhaul facts: every branch event once (raw, keyed on the agent's own id), link and path
-- intervals derived from them (replayed when an event arrives late), and probe statistics per
-- link and hour from the deltas of the agent's cumulative counters. Times are unix seconds of
-- the branch's clock.
CREATE TABLE kpi_backhaul_events (
    id         INTEGER PRIMARY KEY,
    event_id   TEXT NOT NULL UNIQUE,
    branch     TEXT NOT NULL,
    at         REAL NOT NULL,
    kind       TEXT NOT NULL,             -- failover, failback, link_down, link_up, agent_started
    link       TEXT,
    from_link  TEXT,
    to_link    TEXT,
    reason     TEXT,
    detect_ms  REAL,                      -- failover: first missed probe -> switch (new agents)
    switch_ms  REAL
);
CREATE INDEX kpi_backhaul_events_branch_at ON kpi_backhaul_events(branch, at);
CREATE INDEX kpi_backhaul_events_at ON kpi_backhaul_events(at);

-- The links each branch reported, their priority and the last cumulative probe counters seen.
CREATE TABLE kpi_backhaul_links (
    branch    TEXT NOT NULL,
    link      TEXT NOT NULL,
    priority  INTEGER NOT NULL DEFAULT 0,
    probes    INTEGER,
    replies   INTEGER,
    buckets   TEXT,                       -- JSON: cumulative RTT histogram counts
    at        REAL,                       -- branch time of those counters
    PRIMARY KEY (branch, link)
) WITHOUT ROWID;

CREATE TABLE kpi_backhaul_link_intervals (
    id          INTEGER PRIMARY KEY,
    branch      TEXT NOT NULL,
    link        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('up', 'down')),
    started_at  REAL NOT NULL,
    ended_at    REAL
);
CREATE INDEX kpi_backhaul_link_intervals_branch ON kpi_backhaul_link_intervals(branch, link, started_at);

CREATE TABLE kpi_backhaul_path_intervals (
    id          INTEGER PRIMARY KEY,
    branch      TEXT NOT NULL,
    link        TEXT NOT NULL,            -- the link carrying traffic
    path        TEXT NOT NULL CHECK (path IN ('primary', 'backup')),
    started_at  REAL NOT NULL,
    ended_at    REAL
);
CREATE INDEX kpi_backhaul_path_intervals_branch ON kpi_backhaul_path_intervals(branch, started_at);

-- Probe statistics per link and hour (b0..b15: replies per RTT bucket, bounds in
-- core.contracts.backhaul.RTT_BUCKETS_MS, the last one open-ended).
CREATE TABLE kpi_backhaul_probes_hourly (
    branch   TEXT NOT NULL,
    link     TEXT NOT NULL,
    hour     REAL NOT NULL,               -- unix seconds at the start of the UTC hour
    probes   INTEGER NOT NULL DEFAULT 0,
    replies  INTEGER NOT NULL DEFAULT 0,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
    b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, b11 INTEGER NOT NULL DEFAULT 0,
    b12 INTEGER NOT NULL DEFAULT 0, b13 INTEGER NOT NULL DEFAULT 0, b14 INTEGER NOT NULL DEFAULT 0,
    b15 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch, link, hour)
) WITHOUT ROWID;
CREATE INDEX kpi_backhaul_probes_hourly_hour ON kpi_backhaul_probes_hourly(hour);
