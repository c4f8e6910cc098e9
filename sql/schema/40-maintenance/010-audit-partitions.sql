-- Monthly partitions of ops.audit_log, named ops.audit_log_yYYYYmMM, bounded by UTC
-- month starts. SECURITY DEFINER so the partitions are owned by bookingdb_owner
-- whoever runs maintenance (deploy, `bookingdb maintain`, a superuser by hand).

-- Creates the partitions for the current month and the next p_months_ahead months
-- that do not exist yet; returns how many it created. Rows that landed in the default
-- partition for a month being created are moved into it (otherwise CREATE ... PARTITION
-- OF would fail on them). Each new partition gets row level security enabled and
-- forced and the tenant policy before it is attached, like every tenant table
-- (sql/schema/10-tenancy/020-tenant-policies.sql): a role with SELECT on the partition
-- itself must not read around the parent's policy. The owner is NOBYPASSRLS, so to
-- move rows out of the (forced) default partition the function lifts FORCE on it for
-- the move. That ALTER holds an ACCESS EXCLUSIVE lock on the default partition until
-- the transaction ends (ATTACH needs one there anyway), so nobody sees it unforced;
-- it happens only when a month is created, and only rows for a month without a
-- partition route to the default partition and would wait for it.
CREATE OR REPLACE FUNCTION ops.ensure_audit_partitions(p_months_ahead integer DEFAULT 3)
  RETURNS integer
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_first timestamp := pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC');
  v_month timestamp;
  v_name text;
  v_from timestamptz;
  v_to timestamptz;
  v_created integer := 0;
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 60 THEN
    RAISE EXCEPTION 'invalid argument: months ahead must be between 0 and 60'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. 3';
  END IF;
  FOR i IN 0 .. p_months_ahead LOOP
    v_month := v_first + pg_catalog.make_interval(months => i);
    v_name := 'audit_log_' || pg_catalog.to_char(v_month, '"y"YYYY"m"MM');
    CONTINUE WHEN pg_catalog.to_regclass('ops.' || v_name) IS NOT NULL;
    v_from := v_month AT TIME ZONE 'UTC';
    v_to := (v_month + interval '1 month') AT TIME ZONE 'UTC';

    EXECUTE pg_catalog.format(
      'CREATE TABLE ops.%I (LIKE ops.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name);
    ALTER TABLE ops.audit_log_default NO FORCE ROW LEVEL SECURITY;
    EXECUTE pg_catalog.format(
      'WITH moved AS (DELETE FROM ops.audit_log_default WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *)
       INSERT INTO ops.%I SELECT * FROM moved', v_name)
      USING v_from, v_to;
    ALTER TABLE ops.audit_log_default FORCE ROW LEVEL SECURITY;
    EXECUTE pg_catalog.format('ALTER TABLE ops.%I ENABLE ROW LEVEL SECURITY', v_name);
    EXECUTE pg_catalog.format('ALTER TABLE ops.%I FORCE ROW LEVEL SECURITY', v_name);
    EXECUTE pg_catalog.format(
      'CREATE POLICY tenant_isolation ON ops.%I USING (tenant_id = booking.current_tenant_id()) WITH CHECK (tenant_id = booking.current_tenant_id())',
      v_name);
    EXECUTE pg_catalog.format(
      'ALTER TABLE ops.audit_log ATTACH PARTITION ops.%I FOR VALUES FROM (%L) TO (%L)',
      v_name, v_from, v_to);
    v_created := v_created + 1;
  END LOOP;
  RETURN v_created;
END
$$;

-- Drops the monthly partitions that ended more than p_keep_months months before the
-- current month; returns how many it dropped. The default partition is never dropped.
CREATE OR REPLACE FUNCTION ops.drop_audit_partitions(p_keep_months integer DEFAULT 13)
  RETURNS integer
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_cutoff text;
  v_part record;
  v_dropped integer := 0;
BEGIN
  IF p_keep_months IS NULL OR p_keep_months < 1 THEN
    RAISE EXCEPTION 'invalid argument: keep at least one month of audit log'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. 13';
  END IF;
  v_cutoff := 'audit_log_' || pg_catalog.to_char(
    pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC')
      - pg_catalog.make_interval(months => p_keep_months), '"y"YYYY"m"MM');
  FOR v_part IN
    SELECT c.relname
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ops.audit_log'::regclass
       AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$'
       AND c.relname < v_cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE pg_catalog.format('DROP TABLE ops.%I', v_part.relname);
    v_dropped := v_dropped + 1;
  END LOOP;
  RETURN v_dropped;
END
$$;
