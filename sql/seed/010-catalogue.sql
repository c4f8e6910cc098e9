-- Demo data, part 1: tenants and their catalogue. Loaded by src/seed/demo.ts, which
-- runs the files of sql/seed/ in order inside one transaction and then calls
-- pg_temp.seed_demo(...) (030-seed-demo.sql). Everything is generated server-side and
-- set-based. Needs a role that bypasses RLS (superuser or BYPASSRLS): rows of many
-- tenants are written in single statements.
--
-- Tenant n lives in city n (ten cities in ten time zones, cycling) and is a salon,
-- tennis club, clinic, barber or loc studio (cycling, shifted every ten tenants).
-- Slugs are demo-<city>-<kind>-<n> and ids are derived from the slug, so seeding
-- again skips tenants that exist (seed_candidates.existing; reported by slug).
--
-- Every function here pins search_path = pg_catalog, pg_temp: the seed runs as
-- superuser, and an unqualified call must never resolve to a function someone
-- planted in public (e.g. public.setseed(numeric), a better match for 0.42 than
-- pg_catalog.setseed(float8)). src/seed/demo.ts also pins it for the transaction.

CREATE OR REPLACE FUNCTION pg_temp.seed_demo_catalogue(p_tenants integer, p_locations integer,
                                                       p_resources integer, p_days integer)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  CREATE TEMP TABLE seed_candidates ON COMMIT DROP AS
  WITH cities(ci, city_slug, city, tz, currency, factor) AS (
    VALUES (1, 'berlin', 'Berlin', 'Europe/Berlin', 'EUR', 1.0),
           (2, 'new-york', 'New York', 'America/New_York', 'USD', 1.1),
           (3, 'sydney', 'Sydney', 'Australia/Sydney', 'AUD', 1.6),
           (4, 'london', 'London', 'Europe/London', 'GBP', 0.85),
           (5, 'los-angeles', 'Los Angeles', 'America/Los_Angeles', 'USD', 1.1),
           (6, 'tokyo', 'Tokyo', 'Asia/Tokyo', 'JPY', 1.6),
           (7, 'madrid', 'Madrid', 'Europe/Madrid', 'EUR', 1.0),
           (8, 'chicago', 'Chicago', 'America/Chicago', 'USD', 1.1),
           (9, 'sao-paulo', 'São Paulo', 'America/Sao_Paulo', 'BRL', 5.5),
           (10, 'auckland', 'Auckland', 'Pacific/Auckland', 'NZD', 1.8)),
  kinds(ki, archetype, label) AS (
    VALUES (1, 'salon', 'Hair Studio'), (2, 'tennis', 'Tennis Club'), (3, 'clinic', 'Physio Clinic'),
           (4, 'barber', 'Barbers'), (5, 'locs', 'Loc Studio'))
  SELECT n AS ord,
         pg_catalog.md5('bookingdb-demo/' || slug)::uuid AS id,
         slug, name, c.tz, c.currency, c.factor, c.city, k.archetype,
         -- bookings span p_days local days, two thirds of them in the past
         (now() AT TIME ZONE c.tz)::date - (p_days * 2 / 3) AS d0,
         e.existing
    FROM generate_series(1, p_tenants) AS n
    JOIN cities c ON c.ci = (n - 1) % 10 + 1
    -- the kind shifts every ten tenants, so a city is not always the same kind of business
    JOIN kinds k ON k.ki = ((n - 1) + (n - 1) / 10) % 5 + 1
   CROSS JOIN LATERAL (SELECT 'demo-' || c.city_slug || '-' || k.archetype || '-' || n AS slug,
                              c.city || ' ' || k.label || CASE WHEN n > 10 THEN ' ' || ((n - 1) / 10 + 1) ELSE '' END
                                AS name) AS s
   CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM booking.tenants t WHERE t.slug = s.slug) AS existing) AS e;

  CREATE TEMP TABLE seed_tenants ON COMMIT DROP AS
  SELECT ord, id, slug, name, tz, currency, factor, city, archetype, d0 FROM seed_candidates WHERE NOT existing;

  ANALYZE seed_tenants;
  INSERT INTO booking.tenants (id, slug, name, timezone)
  SELECT id, slug, name, tz FROM seed_tenants;

  CREATE TEMP TABLE seed_locations ON COMMIT DROP AS
  SELECT t.id AS tenant_id, gen_random_uuid() AS id, j AS ord, t.tz, t.d0, t.archetype,
         t.city || ' ' || (ARRAY['Mitte', 'North', 'Harbour', 'Old Town', 'West', 'South', 'Central', 'East'])[(j - 1) % 8 + 1]
           || CASE WHEN j > 8 THEN ' ' || ((j - 1) / 8 + 1) ELSE '' END AS name
    FROM seed_tenants t CROSS JOIN generate_series(1, p_locations) AS j;
  INSERT INTO booking.locations (tenant_id, id, name, timezone)
  SELECT tenant_id, id, name, tz FROM seed_locations;

  CREATE TEMP TABLE seed_resources ON COMMIT DROP AS
  SELECT l.tenant_id, gen_random_uuid() AS id, l.id AS location_id, l.tz, l.d0, l.archetype,
         row_number() OVER () AS ord, j, k.kind
    FROM seed_locations l
   CROSS JOIN generate_series(1, p_resources) AS j
   CROSS JOIN LATERAL (SELECT CASE l.archetype
            WHEN 'salon' THEN CASE WHEN j % 4 = 0 THEN 'chair' ELSE 'staff' END
            WHEN 'tennis' THEN CASE WHEN j % 5 IN (1, 2, 3) THEN 'court' WHEN j % 5 = 4 THEN 'staff' ELSE 'equipment' END
            WHEN 'clinic' THEN CASE WHEN j % 3 = 0 THEN 'room' ELSE 'staff' END
            WHEN 'barber' THEN CASE WHEN j % 4 = 0 THEN 'chair' ELSE 'staff' END
            ELSE 'staff' END AS kind) AS k;
  ANALYZE seed_resources;
  INSERT INTO booking.resources (tenant_id, id, location_id, kind, name)
  SELECT r.tenant_id, r.id, r.location_id, r.kind,
         CASE r.kind
           WHEN 'staff' THEN (ARRAY['Anna', 'Ben', 'Chiara', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jamal',
                                    'Kasia', 'Luca', 'Maya', 'Noah', 'Olu', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tariq'])[(r.ord % 20) + 1]
                             || ' ' || chr(65 + (r.j % 26)::integer) || '.'
           WHEN 'court' THEN 'Court ' || r.j
           WHEN 'chair' THEN 'Chair ' || r.j
           WHEN 'room' THEN 'Treatment room ' || r.j
           ELSE 'Ball machine ' || r.j END
    FROM seed_resources r;

  -- services: minutes of duration, buffer before/after, step, base price, resource kinds
  CREATE TEMP TABLE seed_services ON COMMIT DROP AS
  WITH catalogue(archetype, name, dur, bb, ba, step, price, kinds) AS (
    VALUES ('salon', 'Haircut', 30, 0, 10, 15, 3500, '{staff}'::text[]),
           ('salon', 'Colour', 45, 5, 10, 15, 8500, '{staff}'),
           ('salon', 'Blow-dry', 20, 0, 5, NULL, 2500, '{staff,chair}'),
           ('salon', 'Hair treatment', 40, 0, 5, NULL, 4500, '{chair}'),
           ('tennis', 'Court, 1 hour', 55, 0, 5, 30, 4000, '{court}'),
           ('tennis', 'Court, 30 minutes', 25, 0, 5, 30, 2200, '{court}'),
           ('tennis', 'Coaching', 50, 0, 10, NULL, 6500, '{staff}'),
           ('tennis', 'Ball machine hire', 55, 0, 5, NULL, 1500, '{equipment}'),
           ('clinic', 'Consultation', 20, 5, 5, NULL, 6000, '{staff}'),
           ('clinic', 'Physiotherapy', 45, 0, 15, NULL, 9000, '{staff,room}'),
           ('clinic', 'Sports massage', 30, 0, 10, NULL, 7500, '{room}'),
           ('barber', 'Haircut', 30, 0, 10, NULL, 2800, '{staff}'),
           ('barber', 'Beard trim', 15, 0, 5, NULL, 1500, '{staff,chair}'),
           ('barber', 'Hot towel shave', 40, 5, 10, NULL, 3500, '{staff}'),
           ('locs', 'Retwist', 90, 0, 15, 30, 9000, '{staff}'),
           ('locs', 'Loc consultation', 30, 0, 0, NULL, 0, '{staff}'),
           ('locs', 'Starter locs', 180, 0, 30, 60, 25000, '{staff}'))
  SELECT t.id AS tenant_id, gen_random_uuid() AS id, c.name, c.dur, c.bb, c.ba, c.step, c.kinds, t.currency,
         (round(c.price * t.factor / 100) * 100)::integer AS price,
         -- the tile the seed packs per booking: whole blocked time, rounded up to 15 minutes
         (ceil((c.bb + c.dur + c.ba) / 15.0) * 15)::integer AS tile
    FROM seed_tenants t JOIN catalogue c ON c.archetype = t.archetype;
  INSERT INTO booking.services (tenant_id, id, name, duration, buffer_before, buffer_after, slot_step, price_cents, currency)
  SELECT tenant_id, id, name, make_interval(mins => dur), make_interval(mins => bb), make_interval(mins => ba),
         CASE WHEN step IS NULL THEN NULL ELSE make_interval(mins => step) END, price, currency
    FROM seed_services;

  INSERT INTO booking.service_resources (tenant_id, service_id, resource_id)
  SELECT s.tenant_id, s.id, r.id
    FROM seed_services s JOIN seed_resources r ON r.tenant_id = s.tenant_id AND r.kind = ANY (s.kinds);

  -- weekly hours by archetype (NULL: any) and resource kind
  INSERT INTO booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local)
  SELECT r.tenant_id, r.id, d, h.starts, h.ends
    FROM seed_resources r
    JOIN (VALUES ('salon', 'staff', '{2,3,4,5,6}'::int[], '09:00'::time, '12:30'::time),
                 ('salon', 'staff', '{2,3,4,5,6}', '13:30', '18:00'),
                 ('barber', 'staff', '{2,3,4,5,6}', '09:00', '13:00'),
                 ('barber', 'staff', '{2,3,4,5,6}', '14:00', '19:00'),
                 ('locs', 'staff', '{2,3,4,5,6}', '10:00', '18:00'),
                 ('clinic', 'staff', '{1,2,3,4,5}', '08:00', '12:00'),
                 ('clinic', 'staff', '{1,2,3,4,5}', '13:00', '17:00'),
                 ('tennis', 'staff', '{1,2,3,4,5,6,7}', '08:00', '12:00'),
                 ('tennis', 'staff', '{1,2,3,4,5,6,7}', '16:00', '21:00'),
                 (NULL, 'chair', '{2,3,4,5,6}', '09:00', '18:00'),
                 (NULL, 'court', '{1,2,3,4,5,6,7}', '07:00', '22:00'),
                 (NULL, 'equipment', '{1,2,3,4,5,6,7}', '07:00', '22:00'),
                 (NULL, 'room', '{1,2,3,4,5}', '08:00', '19:00'))
         AS h(archetype, kind, days, starts, ends)
      ON h.kind = r.kind AND (h.archetype IS NULL OR h.archetype = r.archetype)
   CROSS JOIN LATERAL unnest(h.days) AS d;

  -- time off: staff take a week every 120 days, everything else closes for a morning
  -- of maintenance every 60 days; staggered per resource
  INSERT INTO booking.time_off (tenant_id, resource_id, during, reason)
  SELECT r.tenant_id, r.id,
         CASE WHEN r.kind = 'staff'
              THEN tstzrange((r.d0 + o.day)::timestamp AT TIME ZONE r.tz, (r.d0 + o.day + 7)::timestamp AT TIME ZONE r.tz)
              ELSE tstzrange((r.d0 + o.day + time '07:00') AT TIME ZONE r.tz, (r.d0 + o.day + time '12:00') AT TIME ZONE r.tz)
         END,
         CASE WHEN r.kind = 'staff' THEN 'holiday' ELSE 'maintenance' END
    FROM seed_resources r
   CROSS JOIN LATERAL (SELECT CASE WHEN r.kind = 'staff' THEN 120 ELSE 60 END AS period) AS p
   CROSS JOIN LATERAL generate_series((r.ord * 37 % p.period)::integer, p_days + 7, p.period) AS o(day);
END
$$;
