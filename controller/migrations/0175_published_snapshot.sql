-- The monitoring snapshot published in the store (controller.monitoring.published), so that any
-- admin node reads what the pollers saw. One row per AP, written by the poller that owns it
-- (one upsert per cycle), and one row per poller process with its last cycle and trap counts.
CREATE TABLE ap_status (
    ap_id         INTEGER PRIMARY KEY,      -- aps.id (rows of deleted APs are pruned by pollers)
    poller        TEXT NOT NULL,            -- the holder (core.leases.holder_id) that wrote it
    generation    INTEGER NOT NULL,         -- that poller's publish count when it wrote the row
    polled_at     REAL,                     -- unix seconds of the poll the row says
    state         TEXT NOT NULL,            -- ApState value, apart for cheap reads (availability)
    status        TEXT NOT NULL             -- the whole ApStatus as JSON
);
CREATE INDEX ap_status_poller ON ap_status(poller, generation);

CREATE TABLE monitoring_pollers (
    holder            TEXT PRIMARY KEY,     -- core.leases.holder_id('poller')
    generation        INTEGER NOT NULL,     -- bumped by every publish (a cycle, a trap's update)
    published_at      REAL NOT NULL,
    cycles            INTEGER NOT NULL,
    cycle_started_at  REAL,
    cycle_duration_s  REAL,
    cycle_polled      INTEGER,
    cycle_answered    INTEGER,
    cycle_failed      INTEGER,
    traps_received        INTEGER NOT NULL DEFAULT 0,
    traps_unknown_source  INTEGER NOT NULL DEFAULT 0,
    traps_malformed       INTEGER NOT NULL DEFAULT 0,
    traps_bad_community   INTEGER NOT NULL DEFAULT 0,
    traps_v3_refused      INTEGER NOT NULL DEFAULT 0
);
