-- The tenant of the current transaction, set with SET LOCAL app.tenant_id (or
-- set_config('app.tenant_id', $1, true)). NULL when unset or empty: after a SET LOCAL
-- has ended, current_setting returns '' rather than NULL on that connection.
-- A malformed value raises 22P02 rather than silently matching nothing.
CREATE OR REPLACE FUNCTION booking.current_tenant_id()
  RETURNS uuid
  LANGUAGE sql
  STABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid
$$;

COMMENT ON FUNCTION booking.current_tenant_id() IS
  'tenant of the current transaction (SET LOCAL app.tenant_id); NULL when unset';
