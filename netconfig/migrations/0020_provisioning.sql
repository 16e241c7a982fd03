-- Provisioning over SSH: AP groups, layered template variables, config versions (backups),
-- pinned SSH host keys, background jobs with per-AP items, and APs waiting for adoption.
CREATE TABLE ap_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- An AP belongs to at most one group, so the variable layers stay a simple chain.
CREATE TABLE ap_group_members (
    ap_id     INTEGER PRIMARY KEY REFERENCES aps(id) ON DELETE CASCADE,
    group_id  INTEGER NOT NULL REFERENCES ap_groups(id) ON DELETE CASCADE
);

-- One JSON object per layer: global (scope_id 0), site, group or AP.
-- Secret values (passphrases) inside are encrypted ({"$enc": token}).
CREATE TABLE config_variables (
    scope       TEXT NOT NULL CHECK (scope IN ('global', 'site', 'group', 'ap')),
    scope_id    INTEGER NOT NULL,
    data        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope, scope_id)
);

-- Versioned running configs. A config identical to an earlier one of the same AP is not stored
-- again: its row's last_seen_at moves instead. body_enc is encrypted (configs carry passphrases).
CREATE TABLE config_versions (
    id            INTEGER PRIMARY KEY,
    ap_id         INTEGER NOT NULL REFERENCES aps(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    body_enc      TEXT NOT NULL,
    source        TEXT NOT NULL,        -- backup, pre-push, post-push, rollback
    taken_at      TEXT NOT NULL,
    taken_by      TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (ap_id, version),
    UNIQUE (ap_id, sha256)
);

-- Trust on first contact; a different key later waits in pending_* until an engineer accepts it.
CREATE TABLE ssh_host_keys (
    ap_id               INTEGER PRIMARY KEY REFERENCES aps(id) ON DELETE CASCADE,
    key_type            TEXT NOT NULL,
    key_base64          TEXT NOT NULL,
    fingerprint         TEXT NOT NULL,
    pinned_at           TEXT NOT NULL,
    pinned_by           TEXT NOT NULL,
    pending_key_type    TEXT,
    pending_key_base64  TEXT,
    pending_fingerprint TEXT,
    pending_seen_at     TEXT
);

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
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    message       TEXT
);
CREATE INDEX provision_jobs_status ON provision_jobs(status);

CREATE TABLE provision_job_items (
    job_id       INTEGER NOT NULL REFERENCES provision_jobs(id) ON DELETE CASCADE,
    ap_id        INTEGER NOT NULL REFERENCES aps(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'unchanged',
                                                 'failed', 'rolled_back', 'skipped')),
    stage        TEXT,                  -- pre-check, apply, post-check, rollback
    message      TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    PRIMARY KEY (job_id, ap_id)
);

-- A coldStart trap names the sender's address, not its MAC: a pending AP may be known by address
-- alone until an MQTT hello or the engineer supplies the MAC. One row per address.
CREATE TABLE pending_aps (
    id             INTEGER PRIMARY KEY,
    mac            TEXT UNIQUE,
    mgmt_ip        TEXT NOT NULL UNIQUE,
    platform       TEXT,
    source         TEXT NOT NULL,       -- trap, mqtt
    detail         TEXT,                -- JSON (sysDescr, hello payload)
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'adopted', 'ignored')),
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    adopted_ap_id  INTEGER REFERENCES aps(id) ON DELETE SET NULL
);
