-- SNMPv3 per AP, as the fast path (core/snmp_usm.py) speaks it: SHA-224 and SHA-384 (RFC 7860)
-- and the Cisco ("Reeder") key extension for AES-192/256 (AES192C, AES256C) join the protocols
-- the store accepts; each AP gets its SNMPv3 context name (NULL for v2c) and, optionally, the
-- snmpEngineID it must answer as, in lower-case hex (the poller refuses another one at its
-- address, the trap receiver checks its v3 traps against it).
--
-- SQLite cannot change a column's CHECK, and aps is the parent of other packages' tables (a
-- rebuild would cascade to them inside the migration's transaction), so the two protocol
-- columns are replaced in place as 0060 did: add, fill, drop the old one, take its name.

ALTER TABLE aps ADD COLUMN snmp_auth_proto_v3 TEXT CHECK (snmp_auth_proto_v3 IS NULL OR
    snmp_auth_proto_v3 IN ('MD5', 'SHA', 'SHA224', 'SHA256', 'SHA384', 'SHA512'));
UPDATE aps SET snmp_auth_proto_v3 = snmp_auth_proto;
ALTER TABLE aps DROP COLUMN snmp_auth_proto;
ALTER TABLE aps RENAME COLUMN snmp_auth_proto_v3 TO snmp_auth_proto;

ALTER TABLE aps ADD COLUMN snmp_priv_proto_v3 TEXT CHECK (snmp_priv_proto_v3 IS NULL OR
    snmp_priv_proto_v3 IN ('DES', 'AES', 'AES192', 'AES256', 'AES192C', 'AES256C'));
UPDATE aps SET snmp_priv_proto_v3 = snmp_priv_proto;
ALTER TABLE aps DROP COLUMN snmp_priv_proto;
ALTER TABLE aps RENAME COLUMN snmp_priv_proto_v3 TO snmp_priv_proto;

ALTER TABLE aps ADD COLUMN snmp_context TEXT CHECK (snmp_context IS NULL OR length(snmp_context) <= 32);
ALTER TABLE aps ADD COLUMN snmp_engine_id TEXT CHECK (snmp_engine_id IS NULL OR
    (length(snmp_engine_id) BETWEEN 10 AND 64 AND snmp_engine_id NOT GLOB '*[^0-9a-f]*'));
UPDATE aps SET snmp_context = '' WHERE snmp_version = '3';
