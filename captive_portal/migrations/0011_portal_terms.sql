-- Which version of the terms of use a click-through login accepted.
ALTER TABLE portal_sessions ADD COLUMN terms_version TEXT;
