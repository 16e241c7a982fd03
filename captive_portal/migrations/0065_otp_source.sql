-- Who asked for each one-time code, for the per-source SMS budget (captive_portal.otp): the
-- device's MAC from the gateway's signed claim ('mac:...') or, without one, the client's
-- address ('ip:...'). A 940 report's code is bound to the report (client_mac 'report:...'),
-- so its asker was not counted anywhere before; the global ceilings count every code.
ALTER TABLE portal_otps ADD COLUMN source TEXT;
UPDATE portal_otps SET source = 'mac:' || client_mac;
CREATE INDEX portal_otps_source ON portal_otps(source, created_at);
CREATE INDEX portal_otps_created ON portal_otps(created_at);
