-- Captive portal: gateways and their HMAC keys, visitor sessions, one-time codes, SMS messages.
CREATE TABLE portal_gateways (
    id            TEXT PRIMARY KEY,              -- the gateway id the agent signs with
    name          TEXT NOT NULL DEFAULT '',
    hmac_key_enc  TEXT NOT NULL,                 -- SecretBox-encrypted, shared with that gateway
    created_at    TEXT NOT NULL
);

CREATE TABLE portal_sessions (
    id              INTEGER PRIMARY KEY,
    gateway_id      TEXT NOT NULL REFERENCES portal_gateways(id),
    mac             TEXT NOT NULL,               -- normalised aa:bb:cc:dd:ee:ff
    ip              TEXT NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('terms', 'sms')),
    phone           TEXT,                        -- E.164, sms logins only
    locale          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'active', 'ended')),
    started_at      REAL NOT NULL,               -- unix seconds
    expires_at      REAL NOT NULL,
    quota_bytes     INTEGER NOT NULL DEFAULT 0,  -- 0: no data quota
    idle_timeout_s  INTEGER NOT NULL DEFAULT 0,  -- 0: no idle timeout
    rate_up_kbps    INTEGER NOT NULL DEFAULT 0,  -- 0: not limited
    rate_down_kbps  INTEGER NOT NULL DEFAULT 0,
    bytes_up        INTEGER NOT NULL DEFAULT 0,
    bytes_down      INTEGER NOT NULL DEFAULT 0,
    last_seen       REAL,
    ended_at        REAL,
    end_reason      TEXT                         -- logout, expired, quota, idle, denied, replaced
);
CREATE INDEX portal_sessions_client ON portal_sessions(gateway_id, mac, state);
CREATE INDEX portal_sessions_ip ON portal_sessions(ip, state);

CREATE TABLE portal_otps (
    id           INTEGER PRIMARY KEY,
    phone        TEXT NOT NULL,                  -- E.164
    client_mac   TEXT NOT NULL,
    code_hash    TEXT NOT NULL,                  -- HMAC-SHA256 of the code, never the code
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    used_at      REAL
);
CREATE INDEX portal_otps_phone ON portal_otps(phone, created_at);
CREATE INDEX portal_otps_client ON portal_otps(client_mac, created_at);

-- Every SMS the portal (and later the 940 reports) sends, with its delivery state.
CREATE TABLE sms_messages (
    id               INTEGER PRIMARY KEY,
    to_number        TEXT NOT NULL,              -- E.164
    body             TEXT NOT NULL,
    purpose          TEXT NOT NULL,              -- login_code, report_status, closure_code, ...
    locale           TEXT NOT NULL,
    driver           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'delivered', 'abandoned')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    provider_id      TEXT,
    last_error       TEXT,
    next_attempt_at  REAL,                       -- unix seconds; NULL when nothing is due
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
CREATE INDEX sms_messages_due ON sms_messages(state, next_attempt_at);
