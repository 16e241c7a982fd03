-- Reports built on a schedule (monthly on the 1st, weekly on a chosen day, local time), the
-- runs that built them and the files kept for download. A run is recorded before anything is
-- sent, unique per (schedule, period), so no period is ever mailed twice, whichever process or
-- node runs the scheduler.
CREATE TABLE report_schedules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    every       TEXT NOT NULL CHECK (every IN ('month', 'week')),
    lang        TEXT NOT NULL DEFAULT 'ar' CHECK (lang IN ('ar', 'en')),
    formats     TEXT NOT NULL DEFAULT 'pdf',      -- comma-separated: pdf, xlsx
    recipients  TEXT NOT NULL DEFAULT '',         -- comma-separated e-mail addresses
    site        TEXT,                             -- a site slug, or NULL for the whole network
    weekday     INTEGER NOT NULL DEFAULT 7 CHECK (weekday BETWEEN 1 AND 7),  -- ISO, weekly only
    hour        INTEGER NOT NULL DEFAULT 6 CHECK (hour BETWEEN 0 AND 23),    -- local
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  REAL NOT NULL                     -- unix seconds; earlier periods are not sent
);

CREATE TABLE report_runs (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES report_schedules(id) ON DELETE CASCADE,
    period      TEXT NOT NULL,                    -- "month:2026-11", "week:2026-W47"
    status      TEXT NOT NULL CHECK (status IN ('building', 'built', 'sending', 'sent',
                                                'retry', 'failed')),
    started_at  REAL NOT NULL,
    built_at    REAL,
    sent_at     REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_id  TEXT,
    error       TEXT,
    UNIQUE (schedule_id, period)
);

CREATE TABLE report_files (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES report_runs(id) ON DELETE CASCADE,
    format      TEXT NOT NULL CHECK (format IN ('pdf', 'xlsx')),
    filename    TEXT NOT NULL,                    -- as offered for download
    path        TEXT NOT NULL,                    -- under [reporting] reports_folder, 0600
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX report_files_run ON report_files(run_id);

-- Prometheus KPI gauges, computed at most every few minutes from the areas' roll-ups and kept
-- here so every worker of the admin app answers a scrape from the same values.
CREATE TABLE kpi_gauges (
    name        TEXT NOT NULL,
    labels      TEXT NOT NULL,                    -- JSON object
    help        TEXT NOT NULL,
    value       REAL NOT NULL,
    computed_at REAL NOT NULL,
    PRIMARY KEY (name, labels)
);
