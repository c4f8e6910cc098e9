-- 23P01 conflicts counted by booking._make_room (nextval just before it raises):
-- the sequence's value, 0 before the first conflict. Reading a sequence takes no lock.
SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END::float8 AS conflicts
  FROM ops.booking_conflicts s
