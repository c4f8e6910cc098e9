-- What the `bookingdb maintain` functions owned by bookingdb_ops need from the owner
-- (applied as the owner, which owns the booking API): ops.maintain_expire_holds()
-- calls the per-tenant expiry, booking.expire_tenant_holds(uuid), which runs as the
-- owner (SECURITY DEFINER, NOBYPASSRLS under FORCE RLS), so it stays bound to the one
-- tenant ops sets for it. Nothing else is granted: the ops role reads the domain
-- tables (sql/schema/50-ops) but writes nothing directly.
GRANT EXECUTE ON FUNCTION booking.expire_tenant_holds(uuid) TO bookingdb_ops;
-- ops.maintain_audit_partition_plan() counts the rows that landed in the default
-- partition (read directly: through the parent it would scan every partition).
GRANT SELECT ON ops.audit_log_default TO bookingdb_ops;
