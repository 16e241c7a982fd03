-- Where an AP stands (WGS 84 degrees), for the map; both or neither, like a site's.
ALTER TABLE aps ADD COLUMN lat REAL CHECK (lat IS NULL OR lat BETWEEN -90 AND 90);
ALTER TABLE aps ADD COLUMN lon REAL CHECK (lon IS NULL OR lon BETWEEN -180 AND 180);
