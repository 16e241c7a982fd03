-- The access point a visitor's session runs through, as the gateway learned it from the AP's
-- DHCP option 82 and signed into the redirect; a 940 report filed from the session is located
-- at it. NULL when the AP does not tag DHCP (or for sessions opened before).
ALTER TABLE portal_sessions ADD COLUMN ap TEXT;
