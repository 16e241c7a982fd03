-- Leases (core.leases): a named piece of work held by one process of one node until its lease
-- runs out. Singleton workers hold one lease each; pollers hold a membership lease each and
-- split the APs among the live members.
CREATE TABLE leases (
    name         TEXT PRIMARY KEY,          -- 'singleton:<worker>' or 'member:<group>:<holder>'
    holder       TEXT NOT NULL,             -- core.leases.holder_id(): node, pid and a nonce
    acquired_at  REAL NOT NULL,             -- unix seconds the current holder first took it
    renewed_at   REAL NOT NULL,
    expires_at   REAL NOT NULL              -- free for another holder from this time on
);
CREATE INDEX leases_expiry ON leases(expires_at);
