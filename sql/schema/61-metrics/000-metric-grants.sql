-- Who may read and write what `bookingdb metrics` keeps in ops (migration 0008).
-- Applied as the owner, which owns the table and the sequence.
--   monitor: reads the snapshots (plain `metrics` and `metrics serve` count the
--            bookings since the newest one) and the conflict counter.
--   owner:   the booking API functions (owned by it) bump the conflict counter with
--            nextval() just before they raise 23P01; USAGE/UPDATE is all nextval needs.
-- `metrics --store` writes with the connection it runs as (a superuser, or a login in
-- the owner role), like the ops.runs ledger it records itself in.
REVOKE ALL ON ops.metric_snapshots FROM PUBLIC;
REVOKE ALL ON SEQUENCE ops.booking_conflicts FROM PUBLIC;
GRANT SELECT ON ops.metric_snapshots TO bookingdb_monitor;
GRANT SELECT ON SEQUENCE ops.booking_conflicts TO bookingdb_monitor;
GRANT USAGE, UPDATE ON SEQUENCE ops.booking_conflicts TO bookingdb_owner;
