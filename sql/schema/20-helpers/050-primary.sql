-- Raises 25006 (read_only_sql_transaction) with a clear message when this server is a
-- read replica (in recovery): the writing API functions (book, confirm, cancel,
-- reschedule, join_waitlist, expire holds) call it first, so an app that sends a write
-- to a replica learns why at once instead of from a "cannot execute INSERT in a
-- read-only transaction" deep inside the function. Availability reads
-- (available_slots) work on a replica and do not call it. p_what names the caller.
-- Cheap: pg_is_in_recovery() reads shared memory, no catalog or table.
CREATE OR REPLACE FUNCTION booking._require_primary(p_what text DEFAULT 'this call')
  RETURNS void
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pg_catalog.pg_is_in_recovery() THEN
    RAISE EXCEPTION '% needs the primary: this server is a read replica', p_what
      USING ERRCODE = '25006',
            HINT = 'send writes to the primary; a replica serves reads such as booking.available_slots';
  END IF;
END
$$;
