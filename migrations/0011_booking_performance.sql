-- Up Migration
-- Booking performance (issue 10). The per-resource btree on active allocations,
-- booking_allocations_resource_starts_idx (tenant_id, resource_id, starts) WHERE active,
-- now also carries what availability and the overlap check read besides the key: ends,
-- hold_expires_at and booking_id (INCLUDE). Both read it with index-only scans (a
-- backward probe for the last allocation before a window, then a bounded range scan)
-- instead of one heap fetch per allocation. Same name, key and predicate as before, so
-- every reader keeps its plan and an insert maintains as many indexes as before.
--
-- Production upgrade: deploy runs migrations inside one transaction, where CREATE INDEX
-- blocks writes to booking_allocations while it builds (~1-2 s per million rows here).
-- On a busy database, build the new index before deploying, outside a transaction:
--   CREATE INDEX CONCURRENTLY booking_allocations_resource_starts_idx_0011
--     ON booking.booking_allocations (tenant_id, resource_id, starts)
--     INCLUDE (ends, hold_expires_at, booking_id) WHERE active;
-- then deploy: IF NOT EXISTS skips the build, and the DROP and RENAME below only take a
-- brief ACCESS EXCLUSIVE lock.
CREATE INDEX IF NOT EXISTS booking_allocations_resource_starts_idx_0011
  ON booking.booking_allocations (tenant_id, resource_id, starts)
  INCLUDE (ends, hold_expires_at, booking_id) WHERE active;
DROP INDEX booking.booking_allocations_resource_starts_idx;
ALTER INDEX booking.booking_allocations_resource_starts_idx_0011
  RENAME TO booking_allocations_resource_starts_idx;

-- Down Migration
CREATE INDEX booking_allocations_resource_starts_idx_0003
  ON booking.booking_allocations (tenant_id, resource_id, starts) WHERE active;
DROP INDEX booking.booking_allocations_resource_starts_idx;
ALTER INDEX booking.booking_allocations_resource_starts_idx_0003
  RENAME TO booking_allocations_resource_starts_idx;
