-- The site (park or walkway) a gateway serves: a visitor's session, and so a 940 report filed
-- from it, is located at that site. NULL for gateways registered before a site was given.
ALTER TABLE portal_gateways ADD COLUMN site TEXT;
