-- Probe statistics per link and UTC day, kept beside the hourly rows: a year's figures read the
-- whole days here and only the hours at the period's edges from kpi_backhaul_probes_hourly.
CREATE TABLE kpi_backhaul_probes_daily (
    branch   TEXT NOT NULL,
    link     TEXT NOT NULL,
    day      REAL NOT NULL,               -- unix seconds at 00:00 UTC
    probes   INTEGER NOT NULL DEFAULT 0,
    replies  INTEGER NOT NULL DEFAULT 0,
    b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
    b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
    b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
    b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, b11 INTEGER NOT NULL DEFAULT 0,
    b12 INTEGER NOT NULL DEFAULT 0, b13 INTEGER NOT NULL DEFAULT 0, b14 INTEGER NOT NULL DEFAULT 0,
    b15 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch, link, day)
) WITHOUT ROWID;
CREATE INDEX kpi_backhaul_probes_daily_day ON kpi_backhaul_probes_daily(day);
INSERT INTO kpi_backhaul_probes_daily
SELECT branch, link, hour - hour % 86400, sum(probes), sum(replies), sum(b0), sum(b1), sum(b2),
       sum(b3), sum(b4), sum(b5), sum(b6), sum(b7), sum(b8), sum(b9), sum(b10), sum(b11),
       sum(b12), sum(b13), sum(b14), sum(b15)
  FROM kpi_backhaul_probes_hourly GROUP BY branch, link, hour - hour % 86400;
