-- Up Migration
-- Reporting refresh under load (issue 8): the rows of the reporting materialized views
-- are computed one tenant at a time into these stage tables, and the views are then
-- REFRESHed CONCURRENTLY from them (sql/schema/63-reporting). One REFRESH of a view that
-- aggregates the whole 120-day window is a single statement that keeps one core busy
-- for seconds and cannot be paced; per tenant, `maintain` can pause between tenants the
-- way VACUUM's cost delay does, so booking traffic keeps the CPU it needs.
-- Written only by the ops staging functions (SECURITY DEFINER, owned by bookingdb_ops;
-- grants in sql/schema/63-reporting/000-reporting-privileges.sql); nobody else reads
-- them. A tenant's rows are replaced in one transaction, so each tenant's rows are from
-- one moment; a deleted tenant's rows go with it (ON DELETE CASCADE).
-- Same columns and types as the views (counts only, no PII), keyed like their unique
-- indexes; staged_at is when the tenant's rows were computed.
CREATE TABLE ops.reporting_daily_bookings_stage (
  tenant_id               uuid NOT NULL,
  day                     date NOT NULL,
  currency                text NOT NULL,
  bookings                bigint NOT NULL,
  pending                 bigint NOT NULL,
  confirmed               bigint NOT NULL,
  cancelled               bigint NOT NULL,
  completed               bigint NOT NULL,
  no_show                 bigint NOT NULL,
  revenue_cents           bigint NOT NULL,
  completed_revenue_cents bigint NOT NULL,
  cancellation_rate       numeric,
  no_show_rate            numeric,
  staged_at               timestamptz NOT NULL,
  CONSTRAINT reporting_daily_bookings_stage_pkey PRIMARY KEY (tenant_id, day, currency),
  CONSTRAINT reporting_daily_bookings_stage_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES booking.tenants (id) ON DELETE CASCADE
);

CREATE TABLE ops.reporting_daily_utilisation_stage (
  tenant_id       uuid NOT NULL,
  day             date NOT NULL,
  resource_kind   text NOT NULL,
  resources       bigint NOT NULL,
  working_minutes integer NOT NULL,
  booked_minutes  integer NOT NULL,
  utilisation     numeric,
  staged_at       timestamptz NOT NULL,
  CONSTRAINT reporting_daily_utilisation_stage_pkey PRIMARY KEY (tenant_id, day, resource_kind),
  CONSTRAINT reporting_daily_utilisation_stage_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES booking.tenants (id) ON DELETE CASCADE
);

-- Down Migration
-- The reporting views are these tables (SELECT from them): they go with them (CASCADE),
-- and so do their files' rows in the repeatable ledger, so the next deploy creates the
-- views again from the definitions it carries. The staging functions stay until then
-- (PL/pgSQL: nothing depends on them, and nothing calls them without the views).
DROP TABLE ops.reporting_daily_utilisation_stage, ops.reporting_daily_bookings_stage CASCADE;
DELETE FROM ops.repeatable_files
 WHERE file IN ('63-reporting/010-daily-bookings.sql', '63-reporting/020-daily-utilisation.sql', '63-reporting/090-refresh-function.sql');
