-- Sites, access points, users, API tokens and the audit log.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name_ar     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('park', 'walkway', 'branch')),
    lat         REAL CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
    lon         REAL CHECK (lon IS NULL OR lon BETWEEN -180 AND 180),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE aps (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    mac                TEXT NOT NULL UNIQUE,          -- normalised aa:bb:cc:dd:ee:ff
    mgmt_ip            TEXT NOT NULL UNIQUE,
    platform           TEXT NOT NULL,
    site_id            INTEGER NOT NULL REFERENCES sites(id),
    capacity           INTEGER,                       -- NULL: alerts.default_capacity
    snmp_version       TEXT NOT NULL CHECK (snmp_version IN ('2c', '3')),
    snmp_port          INTEGER NOT NULL DEFAULT 161,
    snmp_community_enc TEXT,                          -- v2c, encrypted
    snmp_user          TEXT,                          -- v3
    snmp_auth_proto    TEXT CHECK (snmp_auth_proto IS NULL OR snmp_auth_proto IN ('SHA', 'SHA256', 'SHA512', 'MD5')),
    snmp_auth_key_enc  TEXT,
    snmp_priv_proto    TEXT CHECK (snmp_priv_proto IS NULL OR snmp_priv_proto IN ('AES', 'AES192', 'AES256', 'DES')),
    snmp_priv_key_enc  TEXT,
    ssh_port           INTEGER NOT NULL DEFAULT 22,
    ssh_username       TEXT,
    ssh_password_enc   TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX aps_site ON aps(site_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at     TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,               -- e.g. ap.create, site.update, user.login
    target_type TEXT,
    target_id   TEXT,
    detail      TEXT                         -- JSON, secrets never included
);
CREATE INDEX audit_at ON audit_log(at);
