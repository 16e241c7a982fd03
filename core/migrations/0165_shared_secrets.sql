-- Secrets every node of one deployment must share (core.shared_secrets): the admin app's
-- session and CSRF signing key, the portal's signing key and OTP pepper. Each is created once
-- (the first node to start inserts it; the others read that row back), encrypted with the
-- store's key file (store.key_file, the SecretBox every node already holds).
CREATE TABLE shared_secrets (
    name        TEXT PRIMARY KEY,            -- 'admin-session', 'portal-signing'
    value_enc   TEXT NOT NULL,               -- SecretBox token of the base64 of the secret
    created_at  REAL NOT NULL                -- unix seconds
);
