-- One-off things reporting has done to a store, by name (the demo's month of history), so a
-- restart does not do them again.
CREATE TABLE reporting_markers (
    name    TEXT PRIMARY KEY,
    at      REAL NOT NULL                   -- unix seconds
);
