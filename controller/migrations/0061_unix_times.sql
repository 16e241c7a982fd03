-- Every time in the controller's tables becomes REAL unix seconds (UTC), the store's one time
-- encoding; they were ISO-8601 text. The API, pages and MQTT payloads still show ISO-8601
-- (core.store.iso; a branch's own times with their milliseconds).
--
-- SQLite cannot change a column's type, and a REAL written into a TEXT column is kept as text,
-- so each table is rebuilt with its columns (in their order), constraints and indexes as they
-- were. Nothing refers to these tables, so dropping the old ones deletes nothing else.
-- julianday() keeps about 1e-5 s, so the seconds are rounded to the millisecond: an ISO time on
-- a whole second stays on it, and a branch's milliseconds are kept.
--
-- metrics_raw.at and metrics_hourly.hour stay INTEGER: they were unix seconds already, whole
-- seconds by design (a sample per AP per second at most; the roll-up groups by at / 3600).

CREATE TABLE ap_events_unix (
    id      INTEGER PRIMARY KEY,
    ap_id   INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    at      REAL NOT NULL,        -- unix seconds
    kind    TEXT NOT NULL,        -- linkDown, linkUp, coldStart, warmStart, authenticationFailure, state
    source  TEXT NOT NULL,        -- trap, poller
    detail  TEXT                  -- JSON
);
INSERT INTO ap_events_unix (id, ap_id, at, kind, source, detail)
    SELECT id, ap_id, round((julianday(at) - 2440587.5) * 86400.0, 3), kind, source, detail
    FROM ap_events;
DROP TABLE ap_events;
ALTER TABLE ap_events_unix RENAME TO ap_events;
CREATE INDEX ap_events_ap_at ON ap_events(ap_id, at);

CREATE TABLE alerts_unix (
    id         INTEGER PRIMARY KEY,
    ap_id      INTEGER REFERENCES aps(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,     -- ap_down, clients_over_capacity, interface_errors
    severity   TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    opened_at  REAL NOT NULL,     -- unix seconds
    cleared_at REAL,
    detail     TEXT,              -- JSON
    branch     TEXT               -- a branch's alert (ap_id NULL), see 0040_backhaul
);
INSERT INTO alerts_unix (id, ap_id, kind, severity, opened_at, cleared_at, detail, branch)
    SELECT id, ap_id, kind, severity, round((julianday(opened_at) - 2440587.5) * 86400.0, 3),
           round((julianday(cleared_at) - 2440587.5) * 86400.0, 3), detail, branch
    FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_unix RENAME TO alerts;
-- At most one open alert of a kind per AP, and per branch.
CREATE UNIQUE INDEX alerts_open ON alerts(ap_id, kind) WHERE cleared_at IS NULL;
CREATE UNIQUE INDEX alerts_open_branch ON alerts(branch, kind)
    WHERE cleared_at IS NULL AND branch IS NOT NULL;

CREATE TABLE backhaul_branches_unix (
    branch       TEXT PRIMARY KEY,
    state        TEXT,               -- JSON: the latest oasis.backhaul.state/1 payload
    state_at     REAL,               -- its `at` (branch time), unix seconds
    active_link  TEXT,               -- link carrying traffic, from the newest state or switch
    path         TEXT CHECK (path IS NULL OR path IN ('primary', 'backup')),
    path_at      REAL,               -- branch time of the fact `path` comes from
    updated_at   REAL NOT NULL       -- controller time of the last message
);
INSERT INTO backhaul_branches_unix (branch, state, state_at, active_link, path, path_at,
                                    updated_at)
    SELECT branch, state, round((julianday(state_at) - 2440587.5) * 86400.0, 3), active_link,
           path, round((julianday(path_at) - 2440587.5) * 86400.0, 3),
           round((julianday(updated_at) - 2440587.5) * 86400.0, 3)
    FROM backhaul_branches;
DROP TABLE backhaul_branches;
ALTER TABLE backhaul_branches_unix RENAME TO backhaul_branches;

CREATE TABLE backhaul_events_unix (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    branch      TEXT NOT NULL,
    at          REAL NOT NULL,       -- branch time, unix seconds
    kind        TEXT NOT NULL,       -- failover, failback, link_down, link_up, agent_started
    link        TEXT,
    from_link   TEXT,
    to_link     TEXT,
    reason      TEXT,
    detail      TEXT NOT NULL,       -- JSON: the whole payload (its `at` as the branch wrote it)
    received_at REAL NOT NULL        -- controller time
);
INSERT INTO backhaul_events_unix (id, event_id, branch, at, kind, link, from_link, to_link,
                                  reason, detail, received_at)
    SELECT id, event_id, branch, round((julianday(at) - 2440587.5) * 86400.0, 3), kind, link,
           from_link, to_link, reason, detail,
           round((julianday(received_at) - 2440587.5) * 86400.0, 3)
    FROM backhaul_events;
DROP TABLE backhaul_events;
ALTER TABLE backhaul_events_unix RENAME TO backhaul_events;
CREATE INDEX backhaul_events_branch_at ON backhaul_events(branch, at);
