-- The API functions of DESIGN.md exist with their signatures, are SECURITY DEFINER,
-- owned by bookingdb_owner and executable by bookingdb_app; and the app role cannot
-- write bookings or allocations directly.
WITH api(signature) AS (
  VALUES ('booking.available_slots(uuid,uuid,timestamp with time zone,timestamp with time zone,uuid[])'),
         ('booking.book(uuid,uuid,uuid,uuid,timestamp with time zone,text,interval)'),
         ('booking.confirm(uuid,uuid)'),
         ('booking.cancel(uuid,uuid,text)'),
         ('booking.reschedule(uuid,uuid,timestamp with time zone,uuid)'),
         ('booking.join_waitlist(uuid,uuid,uuid,tstzrange,uuid)')
)
SELECT pg_catalog.format('%s: %s', api.signature,
         CASE WHEN p.oid IS NULL THEN 'missing'
              WHEN NOT p.prosecdef THEN 'not SECURITY DEFINER'
              WHEN p.proowner <> 'bookingdb_owner'::regrole THEN 'not owned by bookingdb_owner'
              ELSE 'bookingdb_app cannot execute it' END) AS violation
  FROM api
  LEFT JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(api.signature)
 WHERE p.oid IS NULL OR NOT p.prosecdef OR p.proowner <> 'bookingdb_owner'::regrole
    OR NOT pg_catalog.has_function_privilege('bookingdb_app', p.oid, 'EXECUTE')
UNION ALL
SELECT pg_catalog.format('bookingdb_app has %s on %s', priv, t)
  FROM (VALUES ('booking.bookings'), ('booking.booking_allocations'), ('booking.waitlist_entries')) AS tables(t)
 CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS privs(priv)
 WHERE pg_catalog.to_regclass(t) IS NOT NULL
   AND pg_catalog.has_table_privilege('bookingdb_app', t, priv)
ORDER BY 1;
