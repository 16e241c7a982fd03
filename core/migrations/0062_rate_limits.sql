-- Rate limits every worker and node sees (core.limits): one row per counted event, kept until
-- its window has passed. A refused event is not written, so a key holds at most its limit.
CREATE TABLE rate_limit_events (
    key         TEXT NOT NULL,               -- '<limit name>:<who>' (an address, a MAC, a user)
    at          REAL NOT NULL,               -- unix seconds
    expires_at  REAL NOT NULL                -- at + the limit's window: when it stops counting
);
CREATE INDEX rate_limit_events_key ON rate_limit_events(key, at);
CREATE INDEX rate_limit_events_expiry ON rate_limit_events(expires_at);
