-- What bookingdb_ops needs to own the cross-tenant functions and views that later
-- files create as it (`-- bookingdb: run as ops`): read the domain tables (it is
-- BYPASSRLS, so it sees every tenant; its functions return counts and ids, never PII)
-- and create in ops. Applied as the owner, which owns the schemas and tables.
GRANT USAGE ON SCHEMA booking, ops, ext TO bookingdb_ops;
GRANT CREATE ON SCHEMA ops TO bookingdb_ops;
GRANT SELECT ON ALL TABLES IN SCHEMA booking TO bookingdb_ops;
GRANT SELECT ON ops.audit_log, ops.runs TO bookingdb_ops;
