-- Issue 10's floor for booking.book: what the contract's writes alone cost, next to the
-- bench's anchor. Not a test and never for a real database: it REPLACES booking.book in
-- the database it runs in with a function that keeps only what every booking must do in
-- this schema (read the service's duration and price, take the resource's advisory lock,
-- the backward overlap probe booking.book uses, insert the booking row and its
-- allocation into the real tables: their foreign keys, CHECKs, generated columns,
-- indexes, the exclusion constraint and FORCE RLS all apply) and drops everything else
-- booking.book does: the tenant horizon, resource, offering and customer checks, working
-- hours and time off, the refusal before the lock, the audit row, the customer's
-- last_booking_at, holds, idempotency keys and the conflict counter.
--
-- Run it on a scratch copy only, naming that copy twice (the script refuses any other
-- database), then bench the copy with --anchor:
--
--   psql ADMIN_URL_OF_SERVER/postgres -c 'CREATE DATABASE book_floor TEMPLATE big'
--   psql ADMIN_URL_OF_SERVER/book_floor -v scratch=book_floor -f test/bench/book-floor.sql
--   bookingdb bench --database-url ADMIN_URL_OF_SERVER/book_floor --clients 32 --mix book=100 --days 30 --anchor --duration 15s
--   psql ADMIN_URL_OF_SERVER/postgres -c 'DROP DATABASE book_floor'
--
-- CREATE OR REPLACE keeps the function's owner (bookingdb_owner, so RLS applies inside
-- it as for the real one) and its grants. README "Session 20" has the numbers.
\set ON_ERROR_STOP on
SELECT pg_catalog.current_database() = :'scratch' AS is_scratch \gset
\if :is_scratch
\else
  \echo 'refusing: pass -v scratch=<this database name> to replace booking.book in a scratch copy'
  \quit
\endif

CREATE OR REPLACE FUNCTION booking.book(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid,
                                        p_customer_id uuid, p_starts_at timestamptz,
                                        p_idempotency_key text DEFAULT NULL,
                                        p_hold interval DEFAULT NULL)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
  v_id uuid;
  v_blocked tstzrange;
BEGIN
  IF p_tenant_id IS DISTINCT FROM booking.current_tenant_id() THEN
    RAISE EXCEPTION 'tenant mismatch' USING ERRCODE = '42501';
  END IF;
  SELECT sv.duration, sv.buffer_before, sv.buffer_after, sv.price_cents, sv.currency INTO s
    FROM booking.services sv
   WHERE sv.tenant_id = p_tenant_id AND sv.id = p_service_id AND sv.active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown service' USING ERRCODE = 'BK002';
  END IF;
  v_blocked := pg_catalog.tstzrange(p_starts_at - s.buffer_before, p_starts_at + s.duration + s.buffer_after);
  PERFORM pg_catalog.pg_advisory_xact_lock(1651470187, pg_catalog.hashtext(p_tenant_id::text || '/' || p_resource_id::text));
  PERFORM 1 FROM booking._allocation_in_the_way(p_tenant_id, p_resource_id, pg_catalog.lower(v_blocked), pg_catalog.upper(v_blocked));
  IF FOUND THEN
    RAISE EXCEPTION 'slot taken' USING ERRCODE = 'exclusion_violation';
  END IF;
  INSERT INTO booking.bookings (id, tenant_id, customer_id, service_id, resource_id, status, during, price_cents, currency)
  VALUES (booking._new_id(), p_tenant_id, p_customer_id, p_service_id, p_resource_id, 'confirmed',
          pg_catalog.tstzrange(p_starts_at, p_starts_at + s.duration), s.price_cents, s.currency)
  RETURNING id INTO v_id;
  INSERT INTO booking.booking_allocations (id, tenant_id, booking_id, resource_id, blocked)
  VALUES (booking._new_id(), p_tenant_id, v_id, p_resource_id, v_blocked);
  RETURN v_id;
END
$$;
