-- Up Migration
-- Availability and booking speed (issue 10). working_hours_resource_idx (tenant_id,
-- resource_id, weekday) now also carries the block's times (INCLUDE starts_local,
-- ends_local), so the lookup both hot paths make per resource and weekday is an
-- index-only scan. Before, the generic plans of available_slots' working-blocks
-- statement and of book's working-hours check probed the GiST exclusion index
-- working_hours_no_overlap instead (the same estimated cost as the plain btree, and a
-- GiST probe over btree_gist's uuid keys costs about 11 us where a btree probe costs 3).
-- Measured on the 1,000,000-booking demo database, alternating 1-client runs of
-- `bookingdb bench --clients 1 --mix availability=100 --tenants 1 --duration 10s`:
-- available_slots p50 0.976/0.979 -> 0.876/0.874 ms, p95 1.21/1.23 -> 1.04/1.07 ms.
-- Same name and key as before, so nothing else changes plan. working_hours is small (a
-- few rows per resource), so building it inside deploy's transaction blocks writes to
-- it for milliseconds.
CREATE INDEX working_hours_resource_idx_0014 ON booking.working_hours (tenant_id, resource_id, weekday)
  INCLUDE (starts_local, ends_local);
DROP INDEX booking.working_hours_resource_idx;
ALTER INDEX booking.working_hours_resource_idx_0014 RENAME TO working_hours_resource_idx;

-- Down Migration
CREATE INDEX working_hours_resource_idx_0002 ON booking.working_hours (tenant_id, resource_id, weekday);
DROP INDEX booking.working_hours_resource_idx;
ALTER INDEX booking.working_hours_resource_idx_0002 RENAME TO working_hours_resource_idx;
