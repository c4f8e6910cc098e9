-- One policy shape for every tenant table: USING and WITH CHECK on the transaction's
-- tenant, no TO clause (it applies to every role, the owner included under FORCE RLS).
-- booking.tenants is keyed by id, every other table by tenant_id.
DROP POLICY IF EXISTS tenant_isolation ON booking.tenants;
CREATE POLICY tenant_isolation ON booking.tenants
  USING (id = booking.current_tenant_id())
  WITH CHECK (id = booking.current_tenant_id());

-- Every table with a tenant_id column in booking/ops gets the same policy, so a new
-- table cannot be forgotten. Partitions too (the audit log's months and its default
-- partition): a parent's policy applies only to reads through the parent, so a role
-- with SELECT on a partition itself (pg_read_all_data without BYPASSRLS) would read
-- every tenant's rows. New partitions get it from ops.ensure_audit_partitions().
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT n.nspname, c.relname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname IN ('booking', 'ops')
       AND c.relkind IN ('r', 'p')
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', t.nspname, t.relname);
    EXECUTE pg_catalog.format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', t.nspname, t.relname);
    EXECUTE pg_catalog.format('DROP POLICY IF EXISTS tenant_isolation ON %I.%I', t.nspname, t.relname);
    EXECUTE pg_catalog.format(
      'CREATE POLICY tenant_isolation ON %I.%I USING (tenant_id = booking.current_tenant_id()) WITH CHECK (tenant_id = booking.current_tenant_id())',
      t.nspname, t.relname);
  END LOOP;
END
$$;
