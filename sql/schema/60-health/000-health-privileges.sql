-- What bookingdb_ops needs for the health functions it owns (sql/schema/60-health),
-- beyond 50-ops/000: read the sequences (ops.health_private_metric reads their last
-- values for sequence-exhaustion and integer-key-exhaustion; pg_sequence_last_value
-- needs SELECT), count the rows of the audit log's default partition (a partition is
-- not readable through the parent's grant), and keep the previous deadlock and
-- temp-byte counters. Applied as the owner, which owns all of these. Re-applied after
-- every migration, so sequences of new tables are covered.
GRANT SELECT ON ALL SEQUENCES IN SCHEMA booking, ops TO bookingdb_ops;
GRANT SELECT ON ops.audit_log_default TO bookingdb_ops;
GRANT SELECT, INSERT, UPDATE ON ops.health_counters TO bookingdb_ops;
REVOKE ALL ON ops.health_counters FROM PUBLIC;
