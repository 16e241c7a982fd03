-- The submission key of a report form (a random token each form page carries): a post retried
-- after its answer was lost (the portal node that filed it died before replying, and the
-- visitor or the load balancer sent it again) finds the report it filed instead of filing a
-- second one. NULL for reports from Open311 and the back office.
ALTER TABLE reports ADD COLUMN submission TEXT;
CREATE UNIQUE INDEX reports_submission ON reports(submission);
