-- Up Migration
-- Who did what to which booking, written by the API functions themselves (no
-- triggers): ids and action names only, never PII, so the log can be kept longer than
-- customer data. Partitioned by month of occurred_at (UTC month boundaries);
-- ops.ensure_audit_partitions() (sql/schema/40-maintenance) creates the months ahead
-- on every deploy and from `bookingdb maintain`. The default partition catches rows
-- for a month nobody created, so a missed maintenance run never fails a booking;
-- ensure_audit_partitions moves such rows into their month when it creates it.
-- Partitions have no grants and no RLS of their own: every read goes through the
-- parent, where the tenant policy applies.

CREATE TABLE ops.audit_log (
  tenant_id   uuid NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  action      text NOT NULL,
  entity      text NOT NULL,
  entity_id   uuid,
  actor       text NOT NULL DEFAULT session_user,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, occurred_at, id),
  CONSTRAINT audit_log_action_format CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
  CONSTRAINT audit_log_details_object CHECK (jsonb_typeof(details) = 'object')
) PARTITION BY RANGE (occurred_at);

CREATE TABLE ops.audit_log_default PARTITION OF ops.audit_log DEFAULT;

CREATE INDEX audit_log_entity_idx ON ops.audit_log (tenant_id, entity_id);

ALTER TABLE ops.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE ops.audit_log FORCE ROW LEVEL SECURITY;

-- Down Migration
DROP TABLE ops.audit_log;
