-- Citizen SMS are handed to the SMS gateway by whichever node's status consumer or SLA watcher
-- gets there first (docs/scale-out.md): each notification is claimed by one conditional
-- update (holder and expiry) before it is handed over, so two nodes never hand it twice, and a
-- node that dies holding a claim leaves it to another node once the claim expires.
ALTER TABLE report_notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE report_notifications ADD COLUMN claimed_until REAL;
