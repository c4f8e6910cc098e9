-- Up Migration
-- The operations ledger: one row per run of `maintain` (one per task), `metrics --store`,
-- `backup` and `restore-verify` (DESIGN.md). health-check's freshness checks read the
-- newest `ok` row per command; `maintain` prunes old rows.
--
-- A run is inserted as `running` and finished with ok|failed|skipped. While it runs,
-- the session that wrote it holds a session advisory lock keyed by the run id
-- (classid 1651208821 = 'bkru', objid = id): a run killed midway keeps status
-- `running`, but no backend holds its lock any more, and ops.run_history shows it as
-- `interrupted`. Nothing here is per tenant, so the table has no tenant_id and no RLS;
-- `detail` holds counts and names only, never PII or secrets.

CREATE TABLE ops.runs (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  command      text NOT NULL,
  task         text,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  status       text NOT NULL DEFAULT 'running',
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  client       text,
  backend_pid  integer NOT NULL DEFAULT pg_backend_pid(),
  CONSTRAINT runs_pkey PRIMARY KEY (id),
  CONSTRAINT runs_command_format CHECK (command ~ '^[a-z][a-z-]{0,62}$'),
  CONSTRAINT runs_task_format CHECK (task IS NULL OR task ~ '^[a-z][a-z0-9-]{0,62}$'),
  CONSTRAINT runs_status_check CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
  CONSTRAINT runs_finished_check CHECK ((status = 'running') = (finished_at IS NULL)),
  CONSTRAINT runs_order_check CHECK (finished_at IS NULL OR finished_at >= started_at),
  CONSTRAINT runs_detail_object CHECK (jsonb_typeof(detail) = 'object'),
  CONSTRAINT runs_id_lockable CHECK (id < 4294967296)
);
-- the newest run (and newest ok run) per command and task
CREATE INDEX runs_command_started_idx ON ops.runs (command, task, started_at DESC);
CREATE INDEX runs_running_idx ON ops.runs (started_at) WHERE status = 'running';
CREATE INDEX runs_started_idx ON ops.runs (started_at);

-- Down Migration
DROP TABLE ops.runs CASCADE;
