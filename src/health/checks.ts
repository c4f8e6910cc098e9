/**
 * The health checks as data (DESIGN.md: a name that is a contract, a query, a unit,
 * default thresholds, a one-line remedy). `sql` checks are measured by
 * ops.health_metric(name) (sql/schema/60-health), the same function ops.health_check()
 * runs from psql, and their defaults equal ops.health_checks() (a test keeps them
 * equal); `client` checks are measured here, from what the ledger API exposes
 * (src/health/client-checks.ts). Thresholds of the config file override the defaults
 * per check name.
 */
export type HealthStatus = 'ok' | 'warning' | 'critical' | 'unknown';
export type Direction = 'above' | 'below';
export type Category = 'server' | 'booking' | 'runs';

export interface HealthCheck {
  name: string;
  category: Category;
  source: 'sql' | 'client';
  unit: string;
  warning: number | null;
  critical: number | null;
  direction: Direction;
  remedy: string;
}

type Row = [name: string, category: Category, unit: string, warning: number | null, critical: number | null, direction: Direction, remedy: string];

// Keep in the order and with the values of sql/schema/60-health/010-health-catalogue.sql.
const SQL_CHECKS: Row[] = [
  ['connections', 'server', '%', 80, 95, 'above', 'find idle clients in pg_stat_activity; put PgBouncer (transaction mode) in front or raise max_connections'],
  ['longest-transaction', 'server', 's', 300, 1800, 'above', 'see the pid in the detail: pg_cancel_backend(pid), and fix the client that keeps transactions open'],
  ['idle-in-transaction', 'server', 's', 60, 300, 'above', 'pg_terminate_backend(pid) of the idle session; set idle_in_transaction_session_timeout for the app role'],
  ['lock-waits', 'server', '', 5, 20, 'above', 'see the blocking pids in the detail (pg_blocking_pids); end the blocker or retry the DDL later'],
  ['longest-lock-wait', 'server', 's', 10, 60, 'above', 'end the blocking pid named in the detail; run DDL with a short lock_timeout'],
  ['cache-hit-ratio', 'server', '%', 95, 90, 'below', 'raise shared_buffers (bookingdb doctor), or find the statements that read most blocks (bookingdb slow-queries)'],
  ['xid-wraparound', 'server', 'xids', 1300000000, 1400000000, 'above', 'run VACUUM (FREEZE) in the database named in the detail, and end what holds back the xmin horizon'],
  ['xid-wraparound-table', 'server', 'xids', 1300000000, 1400000000, 'above', 'VACUUM (FREEZE, VERBOSE) the table named in the detail'],
  ['multixact-wraparound', 'server', 'mxids', 1300000000, 1400000000, 'above', 'run VACUUM (FREEZE) in the database named in the detail'],
  ['multixact-wraparound-table', 'server', 'mxids', 1300000000, 1400000000, 'above', 'VACUUM (FREEZE, VERBOSE) the table named in the detail'],
  ['invalid-indexes', 'server', '', 1, null, 'above', 'DROP INDEX CONCURRENTLY the index named in the detail and create it again (it failed to build)'],
  ['ccnew-indexes', 'server', '', 1, null, 'above', 'a REINDEX CONCURRENTLY was interrupted: DROP INDEX CONCURRENTLY the _ccnew/_ccold index named in the detail'],
  ['sequence-exhaustion', 'server', '%', 75, 90, 'above', 'ALTER SEQUENCE ... AS bigint MAXVALUE ... for the sequence named in the detail'],
  ['integer-key-exhaustion', 'server', '%', 75, 90, 'above', "migrate the column named in the detail to bigint before its sequence passes the type's maximum"],
  ['dead-tuples', 'server', '%', 20, 50, 'above', 'VACUUM the table named in the detail; lower its autovacuum_vacuum_scale_factor; end long transactions'],
  ['last-vacuum', 'server', 'h', 72, 168, 'above', 'VACUUM the table named in the detail; check that autovacuum is on and not blocked'],
  ['last-analyze', 'server', 'h', 72, 168, 'above', 'ANALYZE the table named in the detail; check that autovacuum is on'],
  ['table-bloat', 'server', 'x', 2, 4, 'above', 'VACUUM (or pg_repack) the table named in the detail; run VACUUM FULL only in a maintenance window'],
  ['index-bloat', 'server', 'x', 2, 4, 'above', 'REINDEX INDEX CONCURRENTLY the index named in the detail'],
  ['replication-lag', 'server', 's', 30, 300, 'above', 'check the standby named in the detail: network, disk, and long queries on it (hot_standby_feedback)'],
  ['replication-lag-bytes', 'server', 'B', 104857600, 1073741824, 'above', 'WAL waits to be replayed on the standby named in the detail: check its disk and CPU, and long queries there (max_standby_streaming_delay)'],
  ['wal-receiver', 'server', '', 1, null, 'above', "this standby is not streaming from its primary: check primary_conninfo, the network and the primary's pg_hba.conf (replication), and the standby's log"],
  ['replication-slots-inactive', 'server', '', 1, null, 'above', 'reconnect the consumer of the slot named in the detail, or pg_drop_replication_slot() it'],
  ['replication-slot-wal', 'server', 'B', 1073741824, 10737418240, 'above', 'the slot named in the detail retains WAL: reconnect its consumer or drop it; set max_slot_wal_keep_size'],
  ['archiver', 'server', '', 1, 1, 'above', 'archive_command is failing for the WAL file named in the detail: fix it before pg_wal fills the disk'],
  ['checkpoints-requested', 'server', '%', 30, 60, 'above', 'checkpoints are forced by WAL volume: raise max_wal_size (bookingdb doctor)'],
  ['deadlocks', 'server', '', 1, 10, 'above', 'read the deadlock reports in the server log; take locks in one order (book() locks resources in id order)'],
  ['temp-bytes', 'server', 'B', 1073741824, 10737418240, 'above', 'find the statements that spill to disk (bookingdb slow-queries) and raise work_mem for them'],
  ['prepared-transactions', 'server', 's', 60, 300, 'above', 'COMMIT PREPARED or ROLLBACK PREPARED the gid named in the detail'],
  ['pg-stat-statements', 'server', '', 1, null, 'above', 'add pg_stat_statements to shared_preload_libraries (restart), then bookingdb deploy creates the extension'],
  ['overlapping-allocations', 'booking', '', null, 1, 'above', 'double bookings: restore the exclusion constraint (bookingdb deploy) and resolve the allocations named in the detail'],
  ['tenant-rls', 'booking', '', null, 1, 'above', 'a tenant table lacks RLS, FORCE or its policy: run bookingdb deploy, which restores them'],
  ['exclusion-constraint', 'booking', '', null, 1, 'above', 'booking_allocations_no_overlap is missing or not valid: run bookingdb deploy'],
  ['app-role-privileges', 'booking', '', null, 1, 'above', 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS / REVOKE bookingdb_owner FROM the login named in the detail'],
  ['expired-holds', 'booking', '', 1, 100, 'above', 'run bookingdb maintain (it expires holds); check that its cron job runs'],
  ['audit-partitions-ahead', 'booking', '', 1, 2, 'above', 'run bookingdb maintain (or bookingdb deploy): it creates the audit-log partitions ahead'],
  ['audit-default-rows', 'booking', '', 1, 10000, 'above', 'run bookingdb maintain: creating the missing months moves these rows out of the default partition'],
  ['erasure-requests-overdue', 'booking', 'd', 20, 30, 'above', 'process the pending erasure requests (GDPR allows one month)'],
];

/** Freshness of the ledger (ops.runs), read through src/runs/ledger.ts. */
const CLIENT_CHECKS: Row[] = [
  ['last-maintain', 'runs', 'h', 26, 50, 'above', 'run `bookingdb maintain` (and schedule it daily: bookingdb schedule --print-crontab)'],
  ['last-backup', 'runs', 'h', 26, 50, 'above', 'run `bookingdb backup` (and schedule it daily)'],
  ['last-restore-verify', 'runs', 'h', 192, 384, 'above', 'run `bookingdb restore-verify` (a backup nobody restored is not proven; schedule it weekly)'],
  ['last-metrics-store', 'runs', 'h', 0.5, 2, 'above', 'run `bookingdb metrics --store` (cron: every 5 minutes)'],
  ['interrupted-runs', 'runs', '', 1, null, 'above', 'a run died midway (see bookingdb runs / ops.run_history): check its log and run it again'],
];

function toCheck(source: 'sql' | 'client') {
  return ([name, category, unit, warning, critical, direction, remedy]: Row): HealthCheck =>
    ({ name, category, source, unit, warning, critical, direction, remedy });
}

export const HEALTH_CHECKS: readonly HealthCheck[] = [...SQL_CHECKS.map(toCheck('sql')), ...CLIENT_CHECKS.map(toCheck('client'))];

export const CHECK_NAMES = HEALTH_CHECKS.map((c) => c.name) as [string, ...string[]];

export function findCheck(name: string): HealthCheck | undefined {
  return HEALTH_CHECKS.find((c) => c.name === name);
}

/** Grades a value against thresholds; a NULL value (nothing to judge) is ok. */
export function grade(value: number | null, warning: number | null, critical: number | null, direction: Direction): HealthStatus {
  if (value === null || Number.isNaN(value)) return 'ok';
  const past = (limit: number | null) => limit !== null && (direction === 'above' ? value >= limit : value <= limit);
  if (past(critical)) return 'critical';
  if (past(warning)) return 'warning';
  return 'ok';
}

const RANK: Record<HealthStatus, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };

/** The worst status: critical > warning > unknown > ok. */
export function worstStatus(statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((w, s) => (RANK[s] > RANK[w] ? s : w), 'ok');
}

/** The monitoring convention of DESIGN.md: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export const STATUS_EXIT: Record<HealthStatus, number> = { ok: 0, warning: 1, critical: 2, unknown: 3 };

/**
 * The exit code of a run. Default (and `--fail-on warning`): the worst status
 * (critical 2, warning 1, a check that could not be measured 3, else 0).
 * `--fail-on critical` (CI that tolerates warnings): 2 when any check is critical, else 0;
 * warnings and unmeasured checks are still reported. Not connecting at all is 3 in
 * every mode.
 */
export function exitCodeFor(status: HealthStatus, failOn: 'warning' | 'critical' = 'warning'): number {
  if (failOn === 'critical') return status === 'critical' ? 2 : 0;
  return STATUS_EXIT[status];
}
