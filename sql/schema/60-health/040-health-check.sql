-- bookingdb: run as ops
-- ops.health_metrics() and ops.health_check(): every check the database can make about
-- itself, for a DBA in psql and for the monitor login without bookingdb:
--   SELECT * FROM ops.health_check() WHERE status <> 'ok';
-- health_metrics() returns the raw numbers (what a client re-grades with its own
-- thresholds); health_check() grades them with the defaults of ops.health_checks() and
-- appends the remedy to the detail of a warning or critical row. A check that raises
-- is 'unknown' with the error as its detail and the others still run (each runs in
-- its own subtransaction). lock_timeout is pinned short, so a check never queues behind
-- DDL; give the whole call a statement_timeout from the session
-- (SET statement_timeout = '5s'). `bookingdb health-check` calls ops.health_metric()
-- once per check instead, each under its own statement_timeout.
CREATE OR REPLACE FUNCTION ops.health_metrics()
  RETURNS TABLE(check_name text, value numeric, unit text, detail text, error text)
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET lock_timeout = '1s'
AS $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT h.check_name, h.unit FROM ops.health_checks() h LOOP
    check_name := c.check_name;
    unit := c.unit;
    error := NULL;
    BEGIN
      SELECT m.value, m.detail INTO value, detail FROM ops.health_metric(c.check_name) m;
    EXCEPTION WHEN OTHERS THEN
      value := NULL;
      detail := NULL;
      error := pg_catalog.format('%s (%s)', SQLERRM, SQLSTATE);
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ops.health_check()
  RETURNS TABLE(check_name text, status text, value text, detail text)
  LANGUAGE sql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH m AS (
    SELECT m.*, c.warning, c.critical, c.direction, c.remedy,
           CASE
             WHEN m.error IS NOT NULL THEN 'unknown'
             WHEN m.value IS NULL THEN 'ok'
             WHEN c.direction = 'above' AND m.value >= c.critical THEN 'critical'
             WHEN c.direction = 'above' AND m.value >= c.warning THEN 'warning'
             WHEN c.direction = 'below' AND m.value <= c.critical THEN 'critical'
             WHEN c.direction = 'below' AND m.value <= c.warning THEN 'warning'
             ELSE 'ok'
           END AS status
      FROM ops.health_metrics() m
      JOIN ops.health_checks() c USING (check_name)
  )
  SELECT m.check_name, m.status,
         CASE WHEN m.value IS NULL THEN NULL
              WHEN m.unit = 'B' THEN pg_catalog.pg_size_pretty(m.value)
              ELSE pg_catalog.trim_scale(m.value)::text || CASE WHEN m.unit IN ('', 'x') THEN m.unit ELSE ' ' || m.unit END
         END,
         CASE WHEN m.status = 'unknown' THEN m.error
              WHEN m.status IN ('warning', 'critical') THEN m.detail || '; ' || m.remedy
              ELSE m.detail END
    FROM m
$$;

REVOKE ALL ON FUNCTION ops.health_metrics(), ops.health_check() FROM PUBLIC, bookingdb_owner;
GRANT EXECUTE ON FUNCTION ops.health_metrics(), ops.health_check() TO bookingdb_monitor;
