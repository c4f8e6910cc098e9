-- Demo data, part 2: customers, bookings, allocations, payments, waitlist entries of the
-- tenants in seed_tenants (part 1).
--
-- Non-overlapping by construction, without any per-row check: every working block of
-- every resource and day is cut into back-to-back tiles, each sized for a randomly
-- chosen service the resource offers (buffer before + duration + buffer after, rounded
-- up to 15 minutes). Tiles overlapping time off are dropped, then a uniformly random
-- subset of all tiles of the requested size becomes bookings (so busier tenants get
-- more, and a tenant with few slots is never over-filled): bookings never overlap each
-- other, working hours or time off, and the exclusion constraint never fires. When the
-- requested number exceeds the tiles there are, every tile is booked (the number of
-- tiles is the capacity pg_temp.seed_demo reports, so the CLI can warn).
-- Statuses: in the past completed 86%, cancelled 8%, no_show 6%; ahead confirmed 90%,
-- cancelled 7%, pending holds 3% (a quarter of them already lapsed, for expire_holds).
-- Customers: one per eight bookings (at least 20 per tenant).

CREATE OR REPLACE FUNCTION pg_temp.seed_demo_bookings(p_days integer, p_bookings bigint)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  CREATE TEMP TABLE seed_offer ON COMMIT DROP AS
  SELECT r.tenant_id, r.id AS resource_id, r.tz, r.d0,
         array_agg(s.id ORDER BY s.id) AS svc, array_agg(s.tile ORDER BY s.id) AS tile,
         count(*)::integer AS n, min(s.tile) AS min_tile
    FROM seed_resources r
    JOIN seed_services s ON s.tenant_id = r.tenant_id AND r.kind = ANY (s.kinds)
   GROUP BY r.tenant_id, r.id, r.tz, r.d0;

  -- Eight random tilings ("templates") per resource and block shape, computed once;
  -- each working block of each day then takes one at random (no per-day window sort).
  CREATE TEMP TABLE seed_templates ON COMMIT DROP AS
  WITH shapes AS (
    SELECT DISTINCT o.resource_id, o.svc, o.tile, o.n, o.min_tile, wh.starts_local, wh.ends_local,
           (extract(epoch FROM wh.ends_local - wh.starts_local) / 60)::integer AS bmin
      FROM seed_offer o
      JOIN booking.working_hours wh ON wh.tenant_id = o.tenant_id AND wh.resource_id = o.resource_id
  ), raw AS (
    SELECT sh.resource_id, sh.starts_local, sh.ends_local, sh.bmin, tpl, k,
           sh.tile[x.si] AS tlen, sh.svc[x.si] AS service_id
      FROM shapes sh
     CROSS JOIN generate_series(1, 8) AS tpl
     CROSS JOIN LATERAL generate_series(1, sh.bmin / sh.min_tile) AS k
     CROSS JOIN LATERAL (SELECT 1 + floor(random() * sh.n)::integer AS si, k AS dep) AS x
  ), tiled AS (
    SELECT raw.*, coalesce(sum(tlen) OVER (PARTITION BY resource_id, starts_local, tpl ORDER BY k
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::integer AS off
      FROM raw
  )
  SELECT resource_id, starts_local, ends_local, tpl, off, tlen, service_id
    FROM tiled WHERE off + tlen <= bmin;
  ANALYZE seed_offer;
  ANALYZE seed_templates;

  CREATE TEMP TABLE seed_tiles ON COMMIT DROP AS
  WITH blocks AS (
    SELECT o.tenant_id, o.resource_id, wh.starts_local, wh.ends_local, b.bstart,
           (extract(epoch FROM b.bend - b.bstart) / 60)::integer AS bmin,
           1 + floor(random() * 8)::integer AS tpl,
           EXISTS (SELECT 1 FROM booking.time_off t
                    WHERE t.tenant_id = o.tenant_id AND t.resource_id = o.resource_id
                      AND t.starts < b.bend AND t.ends > b.bstart) AS has_off
      FROM seed_offer o
     CROSS JOIN generate_series(0, p_days - 1) AS g(i)
      JOIN booking.working_hours wh
        ON wh.tenant_id = o.tenant_id AND wh.resource_id = o.resource_id
       AND wh.weekday = extract(isodow FROM o.d0 + g.i)::smallint
     CROSS JOIN LATERAL (SELECT ((o.d0 + g.i) + wh.starts_local) AT TIME ZONE o.tz AS bstart,
                                ((o.d0 + g.i) + wh.ends_local) AT TIME ZONE o.tz AS bend) AS b
  )
  SELECT bl.tenant_id, bl.resource_id, tp.service_id,
         bl.bstart + make_interval(mins => tp.off) AS tile_start, random() AS u
    FROM blocks bl
    JOIN seed_templates tp
      ON tp.resource_id = bl.resource_id AND tp.starts_local = bl.starts_local
     AND tp.ends_local = bl.ends_local AND tp.tpl = bl.tpl
   WHERE tp.off + tp.tlen <= bl.bmin
     AND (NOT bl.has_off OR NOT EXISTS (
           SELECT 1 FROM booking.time_off t
            WHERE t.tenant_id = bl.tenant_id AND t.resource_id = bl.resource_id
              AND t.starts < bl.bstart + make_interval(mins => tp.off + tp.tlen)
              AND t.ends > bl.bstart + make_interval(mins => tp.off)));

  -- a uniformly random subset of all tiles: busier tenants get more bookings
  CREATE TEMP TABLE seed_picked ON COMMIT DROP AS
  SELECT t.tenant_id, t.resource_id, t.service_id, t.tile_start
    FROM seed_tiles t ORDER BY t.u LIMIT p_bookings;
  ANALYZE seed_picked;

  CREATE TEMP TABLE seed_customers ON COMMIT DROP AS
  SELECT t.id AS tenant_id, n AS ord, gen_random_uuid() AS id
    FROM seed_tenants t
    LEFT JOIN (SELECT p.tenant_id, count(*) AS picked FROM seed_picked p GROUP BY p.tenant_id) AS c
      ON c.tenant_id = t.id
   CROSS JOIN LATERAL generate_series(1, greatest(20, ceil(coalesce(c.picked, 0) / 8.0)::integer)) AS n;
  ANALYZE seed_customers;

  CREATE TEMP TABLE seed_final ON COMMIT DROP AS
  WITH counts AS (
    SELECT c.tenant_id, count(*)::integer AS n FROM seed_customers c GROUP BY c.tenant_id
  ), shaped AS (
    SELECT p.tenant_id, gen_random_uuid() AS id, p.resource_id, p.service_id,
           p.tile_start + make_interval(mins => s.bb) AS starts, s.dur, s.bb, s.ba, s.price, s.currency,
           random() AS r1, random() AS r2,
           1 + floor(random() * counts.n)::integer AS cust_ord
      FROM seed_picked p
      JOIN seed_services s ON s.tenant_id = p.tenant_id AND s.id = p.service_id
      JOIN counts ON counts.tenant_id = p.tenant_id
  )
  SELECT sh.*, c.id AS customer_id, st.status,
         least(now(), sh.starts - make_interval(secs => 3600 + sh.r2 * 30 * 86400)) AS created
    FROM shaped sh
    JOIN seed_customers c ON c.tenant_id = sh.tenant_id AND c.ord = sh.cust_ord
   CROSS JOIN LATERAL (SELECT CASE
            WHEN sh.starts < now() THEN CASE WHEN sh.r1 < 0.86 THEN 'completed' WHEN sh.r1 < 0.94 THEN 'cancelled' ELSE 'no_show' END
            ELSE CASE WHEN sh.r1 < 0.90 THEN 'confirmed' WHEN sh.r1 < 0.97 THEN 'cancelled' ELSE 'pending' END
          END AS status) AS st;
  ANALYZE seed_final;

  INSERT INTO booking.customers (tenant_id, id, email, full_name, phone, last_booking_at, created_at)
  SELECT c.tenant_id, c.id, lower(n.first || '.' || n.last || '.' || c.ord || '@example.com'),
         n.first || ' ' || n.last,
         CASE WHEN c.ord % 10 = 0 THEN NULL ELSE '+1 555 ' || lpad((c.ord * 7919 % 10000000)::text, 7, '0') END,
         lb.last_booking_at, least(coalesce(lb.first_created, now()), now()) - interval '1 day'
    FROM seed_customers c
   CROSS JOIN LATERAL (SELECT (ARRAY['Ada', 'Bruno', 'Clara', 'Deniz', 'Elif', 'Felix', 'Greta', 'Hamid', 'Ivy', 'Jonas',
                                     'Kemal', 'Lea', 'Mateo', 'Nora', 'Oskar', 'Paula', 'Rafael', 'Sofia', 'Timo', 'Yara'])[c.ord % 20 + 1] AS first,
                              (ARRAY['Adams', 'Becker', 'Costa', 'Dubois', 'Evans', 'Fischer', 'García', 'Hansen', 'Ito', 'Jones',
                                     'Kowalski', 'Lopez', 'Müller', 'Nakamura', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Weber'])[(c.ord / 20) % 20 + 1] AS last) AS n
    LEFT JOIN (SELECT f.tenant_id, f.customer_id, max(f.starts) AS last_booking_at, min(f.created) AS first_created
                 FROM seed_final f GROUP BY f.tenant_id, f.customer_id) AS lb
      ON lb.tenant_id = c.tenant_id AND lb.customer_id = c.id;

  INSERT INTO booking.bookings (tenant_id, id, customer_id, service_id, resource_id, status, during, hold_expires_at,
                                price_cents, currency, created_at, updated_at, cancelled_at, cancel_reason)
  SELECT f.tenant_id, f.id, f.customer_id, f.service_id, f.resource_id, f.status,
         tstzrange(f.starts, f.starts + make_interval(mins => f.dur)),
         CASE WHEN f.status = 'pending' THEN now() + make_interval(mins => (f.r2 * 40 - 10)::integer) END,
         f.price, f.currency, f.created, f.created,
         CASE WHEN f.status = 'cancelled' THEN least(now(), f.created + (f.starts - f.created) * f.r2) END,
         CASE WHEN f.status = 'cancelled'
              THEN (ARRAY['customer request', 'illness', 'schedule conflict', NULL])[floor(f.r2 * 4)::integer + 1] END
    FROM seed_final f
   ORDER BY f.tenant_id, f.starts;

  INSERT INTO booking.booking_allocations (tenant_id, booking_id, resource_id, blocked, active, hold_expires_at)
  SELECT f.tenant_id, f.id, f.resource_id,
         tstzrange(f.starts - make_interval(mins => f.bb), f.starts + make_interval(mins => f.dur + f.ba)),
         f.status <> 'cancelled',
         CASE WHEN f.status = 'pending' THEN now() + make_interval(mins => (f.r2 * 40 - 10)::integer) END
    FROM seed_final f
   -- in index order: GiST inserts (the exclusion constraint) are the slowest part
   ORDER BY f.tenant_id, f.resource_id, f.starts;

  -- a third of the completed bookings were paid through a provider
  INSERT INTO booking.payments (tenant_id, booking_id, amount_cents, currency, status, provider, provider_ref, created_at, updated_at)
  SELECT f.tenant_id, f.id, f.price, f.currency, 'succeeded', 'stripe', 'pi_' || md5(f.id::text),
         f.starts + make_interval(mins => f.dur), f.starts + make_interval(mins => f.dur)
    FROM seed_final f
   WHERE f.status = 'completed' AND f.price > 0 AND f.r1 < 0.86 / 3;

  -- a few customers per tenant wait for a slot in the next two weeks
  INSERT INTO booking.waitlist_entries (tenant_id, service_id, customer_id, wanted)
  SELECT s.tenant_id, s.id, c.id,
         tstzrange(((now() AT TIME ZONE t.tz)::date + 1 + c.ord % 14 + time '09:00') AT TIME ZONE t.tz,
                   ((now() AT TIME ZONE t.tz)::date + 1 + c.ord % 14 + time '18:00') AT TIME ZONE t.tz)
    FROM seed_tenants t
    JOIN seed_customers c ON c.tenant_id = t.id AND c.ord <= 10
    JOIN LATERAL (SELECT sv.tenant_id, sv.id FROM seed_services sv
                   WHERE sv.tenant_id = t.id ORDER BY sv.dur, sv.name LIMIT 1) AS s ON true;
END
$$;
