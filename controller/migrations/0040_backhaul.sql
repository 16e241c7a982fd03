-- Backhaul failover: the latest state of each branch agent, its event history, branch alerts.

-- One row per branch agent heard from. `branch` is the agent's id; a site of kind 'branch'
-- with the same slug is joined at read time (a site created later links without a rewrite).
CREATE TABLE backhaul_branches (
    branch       TEXT PRIMARY KEY,
    state        TEXT,               -- JSON: the latest oasis.backhaul.state/1 payload
    state_at     TEXT,               -- its `at` (branch time)
    active_link  TEXT,               -- link carrying traffic, from the newest state or switch
    path         TEXT CHECK (path IS NULL OR path IN ('primary', 'backup')),
    path_at      TEXT,               -- branch time of the fact `path` comes from
    updated_at   TEXT NOT NULL       -- controller time of the last message
);

-- Every event once: QoS 1 redelivers, so the agent's own event id is the key.
CREATE TABLE backhaul_events (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    branch      TEXT NOT NULL,
    at          TEXT NOT NULL,       -- branch time
    kind        TEXT NOT NULL,       -- failover, failback, link_down, link_up, agent_started
    link        TEXT,
    from_link   TEXT,
    to_link     TEXT,
    reason      TEXT,
    detail      TEXT NOT NULL,       -- JSON: the whole payload
    received_at TEXT NOT NULL
);
CREATE INDEX backhaul_events_branch_at ON backhaul_events(branch, at);

-- Branch alerts live in `alerts` with ap_id NULL. NULLs are distinct in a unique index, so
-- alerts_open cannot keep them to one per branch; this column and index do.
ALTER TABLE alerts ADD COLUMN branch TEXT;
CREATE UNIQUE INDEX alerts_open_branch ON alerts(branch, kind)
    WHERE cleared_at IS NULL AND branch IS NOT NULL;
