-- Every deploy makes sure ops.audit_log has partitions for this month and the next
-- three; `bookingdb maintain` should call ops.ensure_audit_partitions() as well.
SELECT ops.ensure_audit_partitions(3);
