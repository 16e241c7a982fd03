-- Indexes for the 940 service KPIs (captive_portal.reports.kpi_queries): events by time (a
-- period's escalations), reports by their last change and by site (the reports filed, moved
-- or open in a period), notifications by creation time (a period's SMS).
CREATE INDEX IF NOT EXISTS report_events_at ON report_events(kind, at);
CREATE INDEX IF NOT EXISTS reports_updated ON reports(updated_at);
CREATE INDEX IF NOT EXISTS reports_site ON reports(site, created_at);
CREATE INDEX IF NOT EXISTS report_notifications_created ON report_notifications(created_at);
