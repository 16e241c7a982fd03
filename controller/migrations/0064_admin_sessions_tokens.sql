-- Admin sign-in state kept in the store, so every worker process and node sees the same:
--
-- admin_sessions: one row per signed-in browser. The session cookie carries a random id whose
-- SHA-256 is kept here; each request looks it up, so signing out (deleting the row) ends the
-- session everywhere at once, not when the cookie's own lifetime runs out.
--
-- admin_login_addresses: where each user last signed in successfully. Wrong passwords for a
-- user from many addresses slow sign-ins to that account from new addresses; its usual ones
-- are not slowed (controller.web.security).
--
-- api_tokens.expires_at: unix seconds after which the token is refused; NULL never expires.
-- Tokens made before this migration keep NULL, so no integration stops working on upgrade;
-- `oasis token list` shows them ("never") for rotation. New tokens expire after
-- admin.token_days unless made with `--expires-in never`.

CREATE TABLE admin_sessions (
    id_sha256   TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,               -- unix seconds
    expires_at  REAL NOT NULL,               -- unix seconds: created_at + admin.session_hours
    address     TEXT                         -- the client address it was signed in from
);
CREATE INDEX admin_sessions_user ON admin_sessions(user_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);

CREATE TABLE admin_login_addresses (
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address        TEXT NOT NULL,
    last_login_at  REAL NOT NULL,            -- unix seconds
    PRIMARY KEY (user_id, address)
);

ALTER TABLE api_tokens ADD COLUMN expires_at REAL;
