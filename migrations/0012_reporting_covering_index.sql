-- Up Migration
-- Reporting refresh under load (issue 8). bookings_starts_idx (tenant_id, starts) now
-- also carries what the reporting views (sql/schema/63-reporting) read of the window's
-- bookings besides the key: id, ends, resource_id, status, hold_expires_at, currency
-- and price_cents (INCLUDE). A refresh then reads the 120-day window with an index-only
-- scan instead of reading and deforming the wide booking rows (at 1M bookings the
-- window is ~340,000 rows). Same name and key as before, so every reader keeps its
-- plan and a booking write maintains as many indexes as before (status and
-- hold_expires_at are already indexed by bookings_pending_holds_idx, so no update that
-- was HOT stops being HOT). The index grows from ~15 to ~117 MB at 1M bookings.
--
-- Production upgrade: deploy runs migrations inside one transaction, where CREATE INDEX
-- blocks writes to bookings while it builds (~3 s per million rows here). On a busy
-- database, build the new index before deploying, outside a transaction:
--   CREATE INDEX CONCURRENTLY bookings_starts_idx_0012 ON booking.bookings (tenant_id, starts)
--     INCLUDE (id, ends, resource_id, status, hold_expires_at, currency, price_cents);
-- then deploy: IF NOT EXISTS skips the build, and the DROP and RENAME below only take a
-- brief ACCESS EXCLUSIVE lock.
CREATE INDEX IF NOT EXISTS bookings_starts_idx_0012 ON booking.bookings (tenant_id, starts)
  INCLUDE (id, ends, resource_id, status, hold_expires_at, currency, price_cents);
DROP INDEX booking.bookings_starts_idx;
ALTER INDEX booking.bookings_starts_idx_0012 RENAME TO bookings_starts_idx;

-- Down Migration
CREATE INDEX bookings_starts_idx_0003 ON booking.bookings (tenant_id, starts);
DROP INDEX booking.bookings_starts_idx;
ALTER INDEX booking.bookings_starts_idx_0003 RENAME TO bookings_starts_idx;
