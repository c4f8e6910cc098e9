import type { Action, Snapshot } from './collect.js';
import type { TenantSeries } from './tenants.js';

/**
 * Every metric `bookingdb metrics` exposes, as data: its Prometheus name (a contract
 * once released: alert rules key on it), type, help text, labels, and how its samples
 * come from a snapshot. Counters end in `_total` and only grow (PostgreSQL's own
 * counters reset with pg_stat_reset, which Prometheus reads as a counter reset).
 * One renderer (render.ts) turns these into Prometheus text, a table or JSON.
 */
export type MetricType = 'gauge' | 'counter';

export interface Sample {
  labels: Record<string, string>;
  value: number | null;
}

export interface MetricDef {
  name: string;
  type: MetricType;
  help: string;
  /** Label names; `tenant` is dropped when tenant labels are off. */
  labels: string[];
  samples(s: Snapshot, tenants: TenantSeries[]): Sample[];
}

const one = (value: number | null): Sample[] => [{ labels: {}, value }];
const perTenant = (f: (t: TenantSeries) => number | null) => (_s: Snapshot, tenants: TenantSeries[]): Sample[] =>
  tenants.map((t): Sample => ({ labels: t.tenant === undefined ? {} : { tenant: t.tenant }, value: f(t) }));

const bookingCounter = (action: Action, name: string, help: string): MetricDef => ({
  name, type: 'counter', labels: ['tenant'], help, samples: perTenant((t) => t.totals[action]),
});

export const METRICS: MetricDef[] = [
  { name: 'bookingdb_connections', type: 'gauge', labels: ['state'], help: 'Client connections to the server by state (pg_stat_activity).',
    samples: (s) => Object.entries(s.server.connections).sort().map(([state, value]) => ({ labels: { state }, value })) },
  { name: 'bookingdb_connections_max', type: 'gauge', labels: [], help: 'max_connections of the server.', samples: (s) => one(s.server.maxConnections) },
  { name: 'bookingdb_sessions_waiting_on_locks', type: 'gauge', labels: [], help: 'Client sessions waiting for a lock right now.', samples: (s) => one(s.server.waitingOnLocks) },
  { name: 'bookingdb_transactions_committed_total', type: 'counter', labels: [], help: 'Transactions committed in this database (pg_stat_database.xact_commit).', samples: (s) => one(s.server.commits) },
  { name: 'bookingdb_transactions_rolled_back_total', type: 'counter', labels: [], help: 'Transactions rolled back in this database (pg_stat_database.xact_rollback).', samples: (s) => one(s.server.rollbacks) },
  { name: 'bookingdb_blocks_hit_total', type: 'counter', labels: [], help: 'Block reads served from shared buffers (pg_stat_database.blks_hit).', samples: (s) => one(s.server.blocksHit) },
  { name: 'bookingdb_blocks_read_total', type: 'counter', labels: [], help: 'Blocks read from disk or the OS cache (pg_stat_database.blks_read).', samples: (s) => one(s.server.blocksRead) },
  { name: 'bookingdb_cache_hit_ratio', type: 'gauge', labels: [], help: 'Share of block reads served from shared buffers since the statistics were reset (0..1).', samples: (s) => one(s.server.cacheHitRatio) },
  { name: 'bookingdb_deadlocks_total', type: 'counter', labels: [], help: 'Deadlocks detected in this database.', samples: (s) => one(s.server.deadlocks) },
  { name: 'bookingdb_temp_bytes_total', type: 'counter', labels: [], help: 'Bytes written to temporary files by queries in this database.', samples: (s) => one(s.server.tempBytes) },
  { name: 'bookingdb_temp_files_total', type: 'counter', labels: [], help: 'Temporary files created by queries in this database.', samples: (s) => one(s.server.tempFiles) },
  { name: 'bookingdb_database_size_bytes', type: 'gauge', labels: [], help: 'Size of this database on disk (pg_database_size).', samples: (s) => one(s.server.databaseBytes) },
  { name: 'bookingdb_in_recovery', type: 'gauge', labels: [], help: 'Whether this server is a standby in recovery (a read replica): 1, or a primary: 0 (pg_is_in_recovery).',
    samples: (s) => one(s.replication ? (s.replication.inRecovery ? 1 : 0) : null) },
  { name: 'bookingdb_replication_replay_lag_bytes', type: 'gauge', labels: [], help: 'On a standby: WAL received but not yet replayed (0 on a primary).',
    samples: (s) => one(s.replication?.replayLagBytes ?? null) },
  { name: 'bookingdb_replication_replay_lag_seconds', type: 'gauge', labels: [], help: 'On a standby: age of the last replayed commit, 0 when all received WAL is replayed (an idle primary is no lag; 0 on a primary).',
    samples: (s) => one(s.replication?.replayLagSeconds ?? null) },
  { name: 'bookingdb_replication_standby_lag_bytes', type: 'gauge', labels: ['standby'], help: 'Per connected standby (pg_stat_replication): WAL this server wrote that the standby has not replayed yet.',
    samples: (s) => (s.replication?.standbys ?? []).map((x) => ({ labels: { standby: x.standby }, value: x.lagBytes })) },
  { name: 'bookingdb_replication_standby_replay_lag_seconds', type: 'gauge', labels: ['standby'], help: 'Per connected standby: pg_stat_replication.replay_lag (0 once an idle standby has caught up).',
    samples: (s) => (s.replication?.standbys ?? []).map((x) => ({ labels: { standby: x.standby }, value: x.replayLagSeconds })) },
  { name: 'bookingdb_relation_size_bytes', type: 'gauge', labels: ['relation'], help: 'Largest relations: table, indexes and TOAST, from pg_class.relpages as of the last VACUUM/ANALYZE.',
    samples: (s) => s.relations.map((r) => ({ labels: { relation: r.relation }, value: r.bytes })) },
  { name: 'bookingdb_dead_tuples', type: 'gauge', labels: ['relation'], help: 'Dead tuples of the bookingdb tables (pg_stat_user_tables.n_dead_tup).',
    samples: (s) => s.deadTuples.map((r) => ({ labels: { relation: r.relation }, value: r.dead })) },
  { name: 'bookingdb_live_tuples', type: 'gauge', labels: ['relation'], help: 'Live tuples of the bookingdb tables (pg_stat_user_tables.n_live_tup).',
    samples: (s) => s.deadTuples.map((r) => ({ labels: { relation: r.relation }, value: r.live })) },
  bookingCounter('created', 'bookingdb_bookings_created_total', 'Bookings made by booking.book (audit action booking.book), held or confirmed at once.'),
  bookingCounter('confirmed', 'bookingdb_bookings_confirmed_total', 'Pending holds confirmed (audit action booking.confirm).'),
  bookingCounter('cancelled', 'bookingdb_bookings_cancelled_total', 'Bookings cancelled (audit action booking.cancel).'),
  bookingCounter('expired', 'bookingdb_bookings_expired_total', 'Pending holds that lapsed (audit action booking.expire).'),
  bookingCounter('offers', 'bookingdb_waitlist_offers_total', 'Freed slots offered to the waitlist as a hold (audit action waitlist.offer).'),
  { name: 'bookingdb_booking_conflicts_total', type: 'counter', labels: [], help: 'Bookings refused with 23P01 because the slot was taken (sequence ops.booking_conflicts).',
    samples: (s) => one(s.bookings.conflictsTotal) },
  { name: 'bookingdb_holds_pending', type: 'gauge', labels: ['tenant'], help: 'Pending holds whose expiry has not passed.', samples: perTenant((t) => t.holdsPending) },
  { name: 'bookingdb_waitlist_waiting', type: 'gauge', labels: ['tenant'], help: 'Waitlist entries still waiting for a slot.', samples: perTenant((t) => t.waitlistWaiting) },
  { name: 'bookingdb_resource_booked_seconds_today', type: 'gauge', labels: ['tenant'], help: 'Service time booked today (local day of each location) on active resources, holds that lapsed and cancellations excluded.',
    samples: perTenant((t) => t.bookedSecondsToday) },
  { name: 'bookingdb_resource_working_seconds_today', type: 'gauge', labels: ['tenant'], help: 'Working time of the active resources today (weekly hours minus time off).',
    samples: perTenant((t) => t.workingSecondsToday) },
  { name: 'bookingdb_resource_utilisation_ratio', type: 'gauge', labels: ['tenant'], help: 'Booked over working time of the resources today (0..1; absent when nothing is open today).',
    samples: perTenant((t) => (t.workingSecondsToday > 0 ? t.bookedSecondsToday / t.workingSecondsToday : null)) },
  { name: 'bookingdb_bookings_window_seconds', type: 'gauge', labels: [], help: 'Length of the audit-log window this snapshot counted bookings in (since the previous snapshot).',
    samples: (s) => one(s.bookings.window.seconds) },
  { name: 'bookingdb_metrics_collect_seconds', type: 'gauge', labels: [], help: 'Time the database round of this snapshot took.', samples: (s) => one(s.collectMs / 1000) },
];
