-- The process running a provisioning job ("host:pid:start-time"), so a job whose process died
-- (the controller killed, a CLI push interrupted) is found and closed instead of staying
-- "running" for ever. NULL for jobs not started yet, or started before this column existed.
ALTER TABLE provision_jobs ADD COLUMN runner TEXT;
