-- WiFi usage roll-ups (reporting.usage_rollup): what a long period's usage page sums instead of
-- reading every session. Rows are written once a local day (or month) is over, by
-- reporting.usage_rollup.refresh; a day not rolled up yet is read from the sessions. "level" is
-- a site slug, '' for sessions of gateways without a site, or '*' for the whole network (whose
-- peaks are not the sum of the sites').
CREATE TABLE kpi_usage_days (
    level           TEXT NOT NULL,
    day             TEXT NOT NULL,          -- local date, YYYY-MM-DD
    day_start       REAL NOT NULL,          -- unix seconds at its local midnight
    sessions        INTEGER NOT NULL,       -- sessions that went online that day
    visitors        INTEGER NOT NULL,       -- distinct visitors among them
    bytes_down      INTEGER NOT NULL,
    bytes_up        INTEGER NOT NULL,
    client_seconds  TEXT NOT NULL,          -- JSON: 24 online client-seconds, by local hour
    hour_peaks      TEXT NOT NULL,          -- JSON: 24 peak concurrent clients, by local hour
    peak            INTEGER NOT NULL,
    peak_at         REAL,                   -- unix seconds of the day's first peak
    PRIMARY KEY (level, day_start)
) WITHOUT ROWID;

CREATE TABLE kpi_usage_months (
    level       TEXT NOT NULL,
    month_start REAL NOT NULL,              -- unix seconds at the local month's first midnight
    month_end   REAL NOT NULL,
    visitors    INTEGER NOT NULL,           -- distinct visitor ids (they are renewed monthly)
    returners   INTEGER NOT NULL,           -- of whom online on two local days or more
    lengths     TEXT NOT NULL,              -- JSON {bucket: sessions}: ended sessions' lengths
                                            -- in 10-second buckets, for the median
    PRIMARY KEY (level, month_start)
) WITHOUT ROWID;

-- The portal's funnel and failure counters summed per local day and site.
CREATE TABLE kpi_usage_count_days (
    day_start  REAL NOT NULL,
    site       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item       TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (day_start, site, kind, item)
) WITHOUT ROWID;

-- How far the roll-ups reach: every local day and month ending at or before rolled_upto, in
-- the zone they were reckoned in.
CREATE TABLE kpi_usage_rollup (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    tz           TEXT NOT NULL,
    rolled_upto  REAL NOT NULL
);
