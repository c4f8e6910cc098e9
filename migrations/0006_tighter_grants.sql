-- Up Migration
-- Time zones are IANA names only (issue 6). booking.is_valid_timezone (0002) accepted
-- whatever timezone() accepts: abbreviations ('PST'), POSIX strings ('UTC+99',
-- '<+1345>-13:45'). From now on a zone must be a name of pg_timezone_names, spelled
-- as it spells it ('Europe/Berlin', 'UTC', 'America/New_York'); the CHECK already on
-- booking.locations.timezone picks the new body up, and booking.tenants.timezone gets
-- the same CHECK. (The column-level grants of this release are repeatable SQL, in
-- sql/schema/90-grants, like every grant.)
--
-- pg_timezone_names reads the tz database from disk on every query (about 40 ms
-- here), too slow for a CHECK run on every row a seed or a restore inserts. So its
-- names are kept in booking.iana_timezones (refreshed by sql/schema/10-tenancy on
-- deploys); a name found there is valid at the cost of an index probe, and only a
-- name not found there (a typo, or a zone newer than the last refresh) pays for
-- pg_timezone_names. The answer is always pg_timezone_names' own.
--
-- Existing rows: a zone that differs from an IANA name only in case ('europe/berlin')
-- is rewritten to the IANA spelling, which means the same zone. Any other zone that is
-- not an IANA name makes this migration fail, naming each row (up to 20) and the
-- UPDATE that fixes it, so nobody's opening hours move to a guessed zone ('IST' is
-- India, Ireland or Israel). Fix the rows, deploy again.

CREATE TABLE booking.iana_timezones (
  name text PRIMARY KEY
);
COMMENT ON TABLE booking.iana_timezones IS
  'cache of pg_timezone_names.name for booking.is_valid_timezone; refreshed on deploy';
INSERT INTO booking.iana_timezones (name) SELECT z.name FROM pg_catalog.pg_timezone_names z;

CREATE OR REPLACE FUNCTION booking.is_valid_timezone(p_timezone text)
  RETURNS boolean
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_timezone IS NULL THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM booking.iana_timezones z WHERE z.name = p_timezone) THEN
    RETURN true;
  END IF;
  RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = p_timezone);
END
$$;

COMMENT ON FUNCTION booking.is_valid_timezone(text) IS
  'true for an IANA time zone name as pg_timezone_names spells it; not abbreviations, not POSIX strings';

-- The owner is NOBYPASSRLS and these tables are FORCE RLS: lift FORCE to see every
-- tenant's rows (ACCESS EXCLUSIVE on both until the deploy commits; brief on a
-- catalogue this size), then force again.
ALTER TABLE booking.tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.locations NO FORCE ROW LEVEL SECURITY;

UPDATE booking.tenants t
   SET timezone = z.name
  FROM (SELECT pg_catalog.lower(name) AS lname, pg_catalog.min(name) AS name
          FROM booking.iana_timezones GROUP BY 1 HAVING pg_catalog.count(*) = 1) z
 WHERE pg_catalog.lower(t.timezone) = z.lname AND t.timezone <> z.name;
UPDATE booking.locations l
   SET timezone = z.name
  FROM (SELECT pg_catalog.lower(name) AS lname, pg_catalog.min(name) AS name
          FROM booking.iana_timezones GROUP BY 1 HAVING pg_catalog.count(*) = 1) z
 WHERE pg_catalog.lower(l.timezone) = z.lname AND l.timezone <> z.name;

DO $$
DECLARE
  v_count bigint;
  v_rows text;
BEGIN
  WITH bad AS (
    SELECT pg_catalog.format('booking.tenants %s: %L', t.slug, t.timezone) AS what
      FROM booking.tenants t WHERE NOT booking.is_valid_timezone(t.timezone)
    UNION ALL
    SELECT pg_catalog.format('booking.locations %s (tenant %s): %L', l.id, t.slug, l.timezone)
      FROM booking.locations l JOIN booking.tenants t ON t.id = l.tenant_id
     WHERE NOT booking.is_valid_timezone(l.timezone)
  )
  SELECT pg_catalog.count(*), pg_catalog.string_agg(b.what, '; ' ORDER BY b.what) FILTER (WHERE b.n <= 20)
    INTO v_count, v_rows
    FROM (SELECT bad.what, pg_catalog.row_number() OVER (ORDER BY bad.what) AS n FROM bad) b;
  IF v_count > 0 THEN
    RAISE EXCEPTION '% row(s) have a time zone that is not an IANA name%: %', v_count,
                    CASE WHEN v_count > 20 THEN ' (the first 20)' ELSE '' END, v_rows
      USING ERRCODE = 'check_violation',
            HINT = 'set each to an IANA name (SELECT name FROM pg_timezone_names), e.g. UPDATE booking.locations SET timezone = ''America/Los_Angeles'' WHERE timezone = ''PST'', then deploy again';
  END IF;
END
$$;

ALTER TABLE booking.tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.locations FORCE ROW LEVEL SECURITY;

ALTER TABLE booking.tenants
  ADD CONSTRAINT tenants_timezone_valid CHECK (booking.is_valid_timezone(timezone));

-- Down Migration
ALTER TABLE booking.tenants DROP CONSTRAINT tenants_timezone_valid;
CREATE OR REPLACE FUNCTION booking.is_valid_timezone(p_timezone text)
  RETURNS boolean
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_timezone IS NULL OR pg_catalog.btrim(p_timezone) = '' THEN
    RETURN false;
  END IF;
  PERFORM pg_catalog.timezone(p_timezone, pg_catalog.now());
  RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END
$$;
COMMENT ON FUNCTION booking.is_valid_timezone(text) IS NULL;
DROP TABLE booking.iana_timezones;
