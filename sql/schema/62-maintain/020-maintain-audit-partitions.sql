-- bookingdb: run as ops
-- ops.maintain_audit_partition_plan(p_months_ahead, p_keep_months): what the
-- `partitions` task of `bookingdb maintain` will do, or with --dry-run would do, with
-- the owner's ops.ensure_audit_partitions() and ops.drop_audit_partitions()
-- (sql/schema/40-maintenance): one row per action, with the same month arithmetic.
--   create  ops.audit_log_yYYYYmMM missing for this month or one of the next
--           p_months_ahead; rows = audit rows of that month now in the default
--           partition (ensure moves them into the new partition)
--   drop    a monthly partition older than the retention; rows = pg_class.reltuples
--           (an estimate: the partition is not read)
--   default rows in the default partition for a month that will get no partition
--           (before the oldest or past the window); reported, left where they are
-- Owned by bookingdb_ops because the default partition forces RLS and the owner is
-- NOBYPASSRLS: counting its rows needs BYPASSRLS. Reads the default partition only
-- (SELECT granted in 000-maintain-grants.sql), which stays small by design. Names and
-- counts only.
CREATE OR REPLACE FUNCTION ops.maintain_audit_partition_plan(p_months_ahead integer DEFAULT 3,
                                                             p_keep_months integer DEFAULT 13)
  RETURNS TABLE(action text, partition text, month_start timestamptz, rows bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_first timestamp := pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC');
  v_month timestamp;
  v_name text;
  v_cutoff text;
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 60
     OR p_keep_months IS NULL OR p_keep_months < 1 THEN
    RAISE EXCEPTION 'invalid argument: months ahead 0 to 60, keep at least one month'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. 3 and 13';
  END IF;
  FOR i IN 0 .. p_months_ahead LOOP
    v_month := v_first + pg_catalog.make_interval(months => i);
    v_name := 'audit_log_' || pg_catalog.to_char(v_month, '"y"YYYY"m"MM');
    CONTINUE WHEN pg_catalog.to_regclass('ops.' || v_name) IS NOT NULL;
    action := 'create'; partition := v_name; month_start := v_month AT TIME ZONE 'UTC';
    SELECT pg_catalog.count(*) INTO rows FROM ops.audit_log a
     WHERE a.occurred_at >= v_month AT TIME ZONE 'UTC'
       AND a.occurred_at < (v_month + interval '1 month') AT TIME ZONE 'UTC';
    RETURN NEXT;
  END LOOP;

  v_cutoff := 'audit_log_' || pg_catalog.to_char(v_first - pg_catalog.make_interval(months => p_keep_months), '"y"YYYY"m"MM');
  RETURN QUERY
    SELECT 'drop'::text, c.relname::text,
           pg_catalog.to_date(pg_catalog.substr(c.relname, 11), '"y"YYYY"m"MM')::timestamp AT TIME ZONE 'UTC',
           GREATEST(c.reltuples, 0)::bigint
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ops.audit_log'::regclass
       AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$'
       AND c.relname < v_cutoff
     ORDER BY c.relname;

  RETURN QUERY
    SELECT 'default'::text, 'audit_log_default'::text, m.month_start, m.n
      FROM (SELECT pg_catalog.date_trunc('month', d.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start,
                   pg_catalog.count(*) AS n
              FROM ops.audit_log_default d
             GROUP BY 1) m
     WHERE m.month_start < v_first AT TIME ZONE 'UTC'
        OR m.month_start > (v_first + pg_catalog.make_interval(months => p_months_ahead)) AT TIME ZONE 'UTC'
     ORDER BY m.month_start;
END
$$;

COMMENT ON FUNCTION ops.maintain_audit_partition_plan(integer, integer) IS
  'maintain partitions: audit-log partitions to create (with default-partition rows to move), to drop, and default rows left; names and counts only';

REVOKE ALL ON FUNCTION ops.maintain_audit_partition_plan(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.maintain_audit_partition_plan(integer, integer) TO bookingdb_owner;
