-- Every time in the provisioning tables becomes REAL unix seconds (UTC), the store's one time
-- encoding; they were ISO-8601 text. The API, pages and CLI still show ISO-8601 (core.store.iso).
--
-- SQLite cannot change a column's type, and a REAL written into a TEXT column is kept as text,
-- so each table is rebuilt with its columns, constraints and indexes as they were. The store
-- runs a migration in one transaction with foreign keys on, where dropping a parent table
-- deletes its rows and cascades to the children: so the old table is renamed first (SQLite
-- points the children's foreign keys at the renamed table), the children are rebuilt too, and
-- the old tables go children first, when nothing refers to them any more.
-- julianday() keeps about 1e-5 s, so the seconds are rounded to the millisecond: an ISO time
-- on a whole second stays on it.

-- ap_groups and its child ap_group_members (no time of its own, rebuilt to follow its parent).
ALTER TABLE ap_groups RENAME TO ap_groups_old;
ALTER TABLE ap_group_members RENAME TO ap_group_members_old;
CREATE TABLE ap_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL             -- unix seconds
);
INSERT INTO ap_groups (id, name, created_at)
    SELECT id, name, round((julianday(created_at) - 2440587.5) * 86400.0, 3) FROM ap_groups_old;
CREATE TABLE ap_group_members (
    ap_id     INTEGER PRIMARY KEY REFERENCES aps(id) ON DELETE CASCADE,
    group_id  INTEGER NOT NULL REFERENCES ap_groups(id) ON DELETE CASCADE
);
INSERT INTO ap_group_members (ap_id, group_id) SELECT ap_id, group_id FROM ap_group_members_old;
DROP TABLE ap_group_members_old;
DROP TABLE ap_groups_old;

ALTER TABLE config_variables RENAME TO config_variables_old;
CREATE TABLE config_variables (
    scope       TEXT NOT NULL CHECK (scope IN ('global', 'site', 'group', 'ap')),
    scope_id    INTEGER NOT NULL,
    data        TEXT NOT NULL,
    updated_at  REAL NOT NULL,            -- unix seconds
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope, scope_id)
);
INSERT INTO config_variables (scope, scope_id, data, updated_at, updated_by)
    SELECT scope, scope_id, data, round((julianday(updated_at) - 2440587.5) * 86400.0, 3),
           updated_by FROM config_variables_old;
DROP TABLE config_variables_old;

ALTER TABLE config_versions RENAME TO config_versions_old;
CREATE TABLE config_versions (
    id            INTEGER PRIMARY KEY,
    ap_id         INTEGER NOT NULL REFERENCES aps(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    body_enc      TEXT NOT NULL,
    source        TEXT NOT NULL,        -- backup, pre-push, post-push, rollback
    taken_at      REAL NOT NULL,        -- unix seconds
    taken_by      TEXT NOT NULL,
    last_seen_at  REAL NOT NULL,
    UNIQUE (ap_id, version),
    UNIQUE (ap_id, sha256)
);
INSERT INTO config_versions (id, ap_id, version, sha256, body_enc, source, taken_at, taken_by,
                             last_seen_at)
    SELECT id, ap_id, version, sha256, body_enc, source,
           round((julianday(taken_at) - 2440587.5) * 86400.0, 3), taken_by,
           round((julianday(last_seen_at) - 2440587.5) * 86400.0, 3) FROM config_versions_old;
DROP TABLE config_versions_old;

ALTER TABLE ssh_host_keys RENAME TO ssh_host_keys_old;
CREATE TABLE ssh_host_keys (
    ap_id               INTEGER PRIMARY KEY REFERENCES aps(id) ON DELETE CASCADE,
    key_type            TEXT NOT NULL,
    key_base64          TEXT NOT NULL,
    fingerprint         TEXT NOT NULL,
    pinned_at           REAL NOT NULL,  -- unix seconds
    pinned_by           TEXT NOT NULL,
    pending_key_type    TEXT,
    pending_key_base64  TEXT,
    pending_fingerprint TEXT,
    pending_seen_at     REAL
);
INSERT INTO ssh_host_keys (ap_id, key_type, key_base64, fingerprint, pinned_at, pinned_by,
                           pending_key_type, pending_key_base64, pending_fingerprint,
                           pending_seen_at)
    SELECT ap_id, key_type, key_base64, fingerprint,
           round((julianday(pinned_at) - 2440587.5) * 86400.0, 3), pinned_by, pending_key_type,
           pending_key_base64, pending_fingerprint,
           round((julianday(pending_seen_at) - 2440587.5) * 86400.0, 3) FROM ssh_host_keys_old;
DROP TABLE ssh_host_keys_old;

-- provision_jobs and its child provision_job_items.
ALTER TABLE provision_jobs RENAME TO provision_jobs_old;
ALTER TABLE provision_job_items RENAME TO provision_job_items_old;
CREATE TABLE provision_jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,        -- push, rollback, backup, drift, adopt
    target        TEXT NOT NULL,        -- "ap:NAME", "site:SLUG", "group:NAME", "all"
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                                 'stopped', 'partial')),
    dry_run       INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    options       TEXT,                 -- JSON: concurrency, canary, max_failures
    created_by    TEXT NOT NULL,
    created_at    REAL NOT NULL,        -- unix seconds
    started_at    REAL,
    finished_at   REAL,
    message       TEXT,
    runner        TEXT                  -- "host:pid:start-time" of the process running it
);
INSERT INTO provision_jobs (id, kind, target, status, dry_run, total, done, failed, options,
                            created_by, created_at, started_at, finished_at, message, runner)
    SELECT id, kind, target, status, dry_run, total, done, failed, options, created_by,
           round((julianday(created_at) - 2440587.5) * 86400.0, 3),
           round((julianday(started_at) - 2440587.5) * 86400.0, 3),
           round((julianday(finished_at) - 2440587.5) * 86400.0, 3), message, runner
    FROM provision_jobs_old;
CREATE TABLE provision_job_items (
    job_id       INTEGER NOT NULL REFERENCES provision_jobs(id) ON DELETE CASCADE,
    ap_id        INTEGER NOT NULL REFERENCES aps(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'unchanged',
                                                 'failed', 'rolled_back', 'skipped')),
    stage        TEXT,                  -- pre-check, apply, post-check, rollback
    message      TEXT,
    started_at   REAL,                  -- unix seconds
    finished_at  REAL,
    PRIMARY KEY (job_id, ap_id)
);
INSERT INTO provision_job_items (job_id, ap_id, status, stage, message, started_at, finished_at)
    SELECT job_id, ap_id, status, stage, message,
           round((julianday(started_at) - 2440587.5) * 86400.0, 3),
           round((julianday(finished_at) - 2440587.5) * 86400.0, 3) FROM provision_job_items_old;
DROP TABLE provision_job_items_old;
DROP TABLE provision_jobs_old;
CREATE INDEX provision_jobs_status ON provision_jobs(status);

ALTER TABLE pending_aps RENAME TO pending_aps_old;
CREATE TABLE pending_aps (
    id             INTEGER PRIMARY KEY,
    mac            TEXT UNIQUE,
    mgmt_ip        TEXT NOT NULL UNIQUE,
    platform       TEXT,
    source         TEXT NOT NULL,       -- trap, mqtt
    detail         TEXT,                -- JSON (sysDescr, hello payload)
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'adopted', 'ignored')),
    first_seen_at  REAL NOT NULL,       -- unix seconds
    last_seen_at   REAL NOT NULL,
    adopted_ap_id  INTEGER REFERENCES aps(id) ON DELETE SET NULL
);
INSERT INTO pending_aps (id, mac, mgmt_ip, platform, source, detail, status, first_seen_at,
                         last_seen_at, adopted_ap_id)
    SELECT id, mac, mgmt_ip, platform, source, detail, status,
           round((julianday(first_seen_at) - 2440587.5) * 86400.0, 3),
           round((julianday(last_seen_at) - 2440587.5) * 86400.0, 3), adopted_ap_id
    FROM pending_aps_old;
DROP TABLE pending_aps_old;
