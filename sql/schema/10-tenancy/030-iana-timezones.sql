-- The names of pg_timezone_names, kept in booking.iana_timezones so the time zone
-- CHECKs (booking.is_valid_timezone, migration 0006) cost an index probe rather than a
-- read of the whole tz database (about 40 ms). Re-applied with the other repeatable
-- files (after every migration, or when this file changes); a zone the server learnt
-- since (a tzdata update) is still accepted meanwhile, through the function's
-- fallback to pg_timezone_names, and a name the server no longer knows leaves the
-- cache here. Takes no lock beyond ROW EXCLUSIVE on the cache table.
INSERT INTO booking.iana_timezones (name)
SELECT z.name FROM pg_catalog.pg_timezone_names z
ON CONFLICT (name) DO NOTHING;

DELETE FROM booking.iana_timezones c
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = c.name);
