-- The notification router looks for alerts opened or cleared lately that it has not decided yet.
CREATE INDEX alerts_opened_at ON alerts(opened_at);
CREATE INDEX alerts_cleared_at ON alerts(cleared_at) WHERE cleared_at IS NOT NULL;
