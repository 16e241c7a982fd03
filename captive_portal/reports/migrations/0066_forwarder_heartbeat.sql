-- The 940 forwarder's heartbeat (captive_portal.reports.health): each running forwarder rewrites
-- its row about once a second with the state of its MQTT link, so /healthz in any process (the
-- portal's workers, other nodes) can tell whether one is running and connected.
CREATE TABLE report_forwarder_heartbeats (
    client_id    TEXT PRIMARY KEY,     -- the forwarder's MQTT client id
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    started_at   REAL NOT NULL,        -- unix seconds
    beat_at      REAL NOT NULL,
    stopped_at   REAL,                 -- set by a clean stop; a killed forwarder just stops beating
    connected    INTEGER NOT NULL,     -- its MQTT link: 1 connected, 0 not
    since        REAL NOT NULL,        -- connected (or not) since
    last_error   TEXT
);
