-- The reporting schema (created by deploy, owned by bookingdb_owner) holds the
-- cross-tenant materialized views, which bookingdb_ops creates and owns (the next files
-- run as ops): REFRESH runs as the view's owner, and only a BYPASSRLS owner sees every
-- tenant under FORCE RLS. Reporting may look up names in it; PUBLIC and the app may not.
-- Applied as the owner, which owns the schema.
REVOKE ALL ON SCHEMA reporting FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA reporting TO bookingdb_ops;
GRANT USAGE ON SCHEMA reporting TO bookingdb_reporting;
-- The stage tables the views are refreshed from (migration 0013): the ops staging
-- functions replace a tenant's rows (DELETE, INSERT) and the views, owned by ops, read
-- them. Nobody else is granted anything on them.
GRANT SELECT, INSERT, DELETE ON ops.reporting_daily_bookings_stage, ops.reporting_daily_utilisation_stage TO bookingdb_ops;
