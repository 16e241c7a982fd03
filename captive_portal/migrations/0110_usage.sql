-- What the WiFi usage KPIs need from the portal (reporting reads it through
-- captive_portal.usage):
--   visitor    a keyed hash of the device's MAC (HMAC-SHA256 under a key derived from the
--              portal's secret key, rotated each local calendar month), so unique visitors
--              are counted without keeping MACs;
--   online_at  when the gateway acked the session (NULL: it never went online, e.g. the
--              gateway refused or did not answer).
ALTER TABLE portal_sessions ADD COLUMN visitor TEXT;
ALTER TABLE portal_sessions ADD COLUMN online_at REAL;
UPDATE portal_sessions SET online_at = started_at
 WHERE last_seen IS NOT NULL OR state = 'active';
-- The usage pages scan sessions by the time they went online; the index carries every column
-- they read but the AP (an AP filter reads the rows), so a month of sessions is read from the
-- index alone.
CREATE INDEX portal_sessions_online ON portal_sessions(
    online_at, gateway_id, visitor, ended_at, expires_at, bytes_down, bytes_up)
 WHERE online_at IS NOT NULL;

-- The login funnel and login failures, counted per site and UTC hour (one row per site, hour
-- and step or cause, never one per page view). Each count is one INSERT ... ON CONFLICT
-- DO UPDATE, atomic in the store, so several workers and nodes count right.
--   kind 'funnel':  item = redirect | portal | step | online
--   kind 'failure': item = a portal error code (code_invalid, signature_stale, ...)
CREATE TABLE portal_usage_counts (
    hour   REAL NOT NULL,               -- unix seconds at the start of the hour
    site   TEXT NOT NULL DEFAULT '',    -- the gateway's site; '' when unknown
    kind   TEXT NOT NULL CHECK (kind IN ('funnel', 'failure')),
    item   TEXT NOT NULL,
    count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, site, kind, item)
) WITHOUT ROWID;
