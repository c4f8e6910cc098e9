import type { Sql, TransactionSql } from 'postgres';
import { setLocalTimeouts } from '../db/scoped.js';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { metricsQuery } from './queries.js';

/**
 * One snapshot of the metrics: one read-only transaction ("one database round"), every
 * statement under SET LOCAL statement_timeout and lock_timeout, reading only the
 * statistics views, the catalog, and the bounded per-tenant reads of
 * ops.metric_tenant_activity(). Works as a LOGIN member of bookingdb_monitor.
 *
 * Booking counters are defined by windows of the audit log: a snapshot counts the rows
 * with occurred_at in [from, to) (sql/queries/metrics/window.sql), where `from` is the
 * previous snapshot's `to`. Cumulative totals (the Prometheus counters) are the
 * previous snapshot's totals plus this window. `base` is that previous snapshot:
 * given by the caller (`metrics serve` chains its own rounds in memory), else read
 * from the newest stored snapshot in ops.metric_snapshots.
 */
export const ACTIONS = ['created', 'confirmed', 'cancelled', 'expired', 'offers'] as const;
export type Action = (typeof ACTIONS)[number];
export type ActionCounts = Record<Action, number>;

export interface TenantMetrics {
  id: string;
  slug: string;
  /** Actions in this snapshot's window (since the previous snapshot). */
  since: ActionCounts;
  /** Cumulative: the previous snapshot's totals plus `since`. */
  totals: ActionCounts;
  holdsPending: number;
  waitlistWaiting: number;
  bookedSecondsToday: number;
  workingSecondsToday: number;
}

export interface Snapshot {
  takenAt: string;
  collectMs: number;
  server: {
    commits: number; rollbacks: number; blocksHit: number; blocksRead: number;
    cacheHitRatio: number | null; deadlocks: number; tempBytes: number; tempFiles: number;
    databaseBytes: number; maxConnections: number; connections: Record<string, number>; waitingOnLocks: number;
  };
  /**
   * Replication as this server sees it (sql/queries/metrics/replication.sql): on a
   * standby the received-but-not-replayed WAL and the replay delay (0 when caught up);
   * on a primary one entry per connected standby. Absent in snapshots stored before.
   */
  replication: {
    inRecovery: boolean;
    replayLagBytes: number | null;
    replayLagSeconds: number | null;
    standbys: { standby: string; state: string; lagBytes: number | null; replayLagSeconds: number | null }[];
  };
  relations: { relation: string; bytes: number }[];
  deadTuples: { relation: string; dead: number; live: number }[];
  bookings: {
    window: { from: string; to: string; seconds: number; previousSnapshotId: number | null };
    since: ActionCounts;
    totals: ActionCounts;
    conflictsTotal: number;
    holdsPending: number;
    waitlistWaiting: number;
    bookedSecondsToday: number;
    workingSecondsToday: number;
    utilisationToday: number | null;
    tenants: TenantMetrics[];
  };
}

/** What the next window builds on: where the previous one ended and its totals. */
export interface CounterBase {
  snapshotId: number | null;
  countedTo: string | null;
  totals: ActionCounts;
  tenants: Map<string, ActionCounts>;
}

export interface CollectOptions {
  windowMinutes: number;
  transactionLagSeconds: number;
  topRelations: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export function zeroCounts(): ActionCounts {
  return { created: 0, confirmed: 0, cancelled: 0, expired: 0, offers: 0 };
}

function add(a: ActionCounts, b: ActionCounts): ActionCounts {
  const out = zeroCounts();
  for (const k of ACTIONS) out[k] = (a[k] ?? 0) + (b[k] ?? 0);
  return out;
}

const CONNECTION_STATES: Record<string, string> = {
  active: 'active', idle: 'idle', 'idle in transaction': 'idle_in_transaction',
  'idle in transaction (aborted)': 'idle_in_transaction_aborted', 'fastpath function call': 'fastpath', disabled: 'disabled',
};

/** The counter base a stored snapshot document provides (none: counting starts at zero). */
export function baseFromStored(row: { id: unknown; counted_to: unknown; bookings: unknown } | undefined): CounterBase {
  if (!row) return { snapshotId: null, countedTo: null, totals: zeroCounts(), tenants: new Map() };
  const b = (row.bookings ?? {}) as { totals?: ActionCounts; tenants?: { id: string; totals: ActionCounts }[] };
  return {
    snapshotId: Number(row.id),
    countedTo: new Date(row.counted_to as string).toISOString(),
    totals: add(zeroCounts(), b.totals ?? zeroCounts()),
    tenants: new Map((b.tenants ?? []).map((t) => [t.id, add(zeroCounts(), t.totals)])),
  };
}

/** The base the snapshot after this one builds on. */
export function baseFromSnapshot(s: Snapshot, snapshotId: number | null): CounterBase {
  return {
    snapshotId, countedTo: s.bookings.window.to, totals: s.bookings.totals,
    tenants: new Map(s.bookings.tenants.map((t) => [t.id, t.totals])),
  };
}

/** Collects a snapshot inside the caller's transaction `tx` (see collectSnapshot). */
export async function collectIn(tx: TransactionSql, options: CollectOptions, base?: CounterBase): Promise<Snapshot> {
  const started = performance.now();
  await setLocalTimeouts(tx, options.statementTimeoutMs, options.lockTimeoutMs);
  const b = base ?? baseFromStored((await tx.unsafe(metricsQuery('previous-snapshot')))[0] as never);
  const [w] = await tx.unsafe(metricsQuery('window'), [b.countedTo, options.windowMinutes, options.transactionLagSeconds]);
  // independent reads, sent pipelined on the transaction's connection (one wait, not five)
  const [[s], relations, dead, activity, [c], [rep]] = await Promise.all([
    tx.unsafe(metricsQuery('server')),
    tx.unsafe(metricsQuery('relations'), [options.topRelations]),
    tx.unsafe(metricsQuery('dead-tuples')),
    tx.unsafe(metricsQuery('tenant-activity'), [w.counted_from, w.counted_to]),
    tx.unsafe(metricsQuery('conflicts')),
    tx.unsafe(metricsQuery('replication')),
  ]);

  const tenants: TenantMetrics[] = activity.map((r) => {
    const since: ActionCounts = { created: r.created, confirmed: r.confirmed, cancelled: r.cancelled, expired: r.expired, offers: r.offers };
    return {
      id: String(r.tenant_id), slug: String(r.slug), since, totals: add(b.tenants.get(String(r.tenant_id)) ?? zeroCounts(), since),
      holdsPending: r.holds_pending, waitlistWaiting: r.waitlist_waiting,
      bookedSecondsToday: r.booked_seconds_today, workingSecondsToday: r.working_seconds_today,
    };
  });
  const since = tenants.reduce((acc, t) => add(acc, t.since), zeroCounts());
  const sum = (f: (t: TenantMetrics) => number) => tenants.reduce((acc, t) => acc + f(t), 0);
  const booked = sum((t) => t.bookedSecondsToday);
  const working = sum((t) => t.workingSecondsToday);
  const connections: Record<string, number> = { active: 0, idle: 0, idle_in_transaction: 0, idle_in_transaction_aborted: 0 };
  for (const [state, n] of Object.entries(s.connections as Record<string, number>)) {
    const key = CONNECTION_STATES[state] ?? 'unknown';
    connections[key] = (connections[key] ?? 0) + Number(n);
  }
  const from = new Date(w.counted_from).toISOString();
  const to = new Date(w.counted_to).toISOString();
  return {
    takenAt: new Date(w.taken_at).toISOString(),
    collectMs: Math.round((performance.now() - started) * 100) / 100,
    server: {
      commits: s.xact_commit, rollbacks: s.xact_rollback, blocksHit: s.blks_hit, blocksRead: s.blks_read,
      cacheHitRatio: s.blks_hit + s.blks_read > 0 ? s.blks_hit / (s.blks_hit + s.blks_read) : null,
      deadlocks: s.deadlocks, tempBytes: s.temp_bytes, tempFiles: s.temp_files, databaseBytes: s.database_bytes,
      maxConnections: s.max_connections, connections, waitingOnLocks: s.waiting_on_locks,
    },
    replication: {
      inRecovery: Boolean(rep.in_recovery), replayLagBytes: rep.replay_lag_bytes ?? null, replayLagSeconds: rep.replay_lag_seconds ?? null,
      standbys: (rep.standbys as Snapshot['replication']['standbys']).map((x) => ({
        standby: String(x.standby), state: String(x.state), lagBytes: x.lagBytes ?? null,
        // replay_lag turns NULL once an idle standby has caught up: that is no lag
        replayLagSeconds: x.replayLagSeconds ?? (x.lagBytes === 0 ? 0 : null),
      })),
    },
    relations: relations.map((r) => ({ relation: String(r.relation), bytes: Number(r.bytes) })),
    deadTuples: dead.map((r) => ({ relation: String(r.relation), dead: Number(r.dead), live: Number(r.live) })),
    bookings: {
      window: { from, to, seconds: (Date.parse(to) - Date.parse(from)) / 1000, previousSnapshotId: b.snapshotId },
      since,
      // tenants that were deleted keep nothing; the total is the sum of the tenants
      totals: tenants.reduce((acc, t) => add(acc, t.totals), zeroCounts()),
      conflictsTotal: Number(c?.conflicts ?? 0),
      holdsPending: sum((t) => t.holdsPending),
      waitlistWaiting: sum((t) => t.waitlistWaiting),
      bookedSecondsToday: booked,
      workingSecondsToday: working,
      utilisationToday: working > 0 ? Math.round((booked / working) * 10_000) / 10_000 : null,
      tenants,
    },
  };
}

/** Maps what a metrics round can fail on to one clear error (exit 4 when not deployed or not allowed). */
export function describeMetricsError(error: unknown): unknown {
  if (!isPgError(error)) return error;
  if (error.code === '42P01' || error.code === '42883') {
    return new BookingDbError('not_deployed', `this database has no bookingdb metrics objects: ${error.message}`, {
      exitCode: ExitCode.precondition, hint: 'run `bookingdb deploy` with this version first', cause: error,
    });
  }
  if (error.code === '42501') {
    return new BookingDbError('not_allowed', `this login may not read the metrics: ${error.message}`, {
      exitCode: ExitCode.precondition, hint: 'use a LOGIN member of bookingdb_monitor: `bookingdb roles create monitor --name prometheus`', cause: error,
    });
  }
  if (error.code === '25006') {
    return new BookingDbError('read_replica', `this server is a read replica: ${error.message}`, {
      exitCode: ExitCode.precondition, cause: error,
      hint: '`metrics --store` writes ops.runs and ops.metric_snapshots: run it against the primary; `metrics` and `metrics serve` work on a replica',
    });
  }
  if (error.code === '57014' || error.code === '55P03') {
    return new BookingDbError('metrics_timeout', `a metrics query hit its ${error.code === '57014' ? 'statement' : 'lock'} timeout: ${error.message}`, {
      hint: 'the server is busy; raise metrics.statementTimeoutMs only if this persists', cause: error,
    });
  }
  return error;
}

/**
 * One snapshot in one read-only transaction. Without `base`, counting continues from
 * the newest stored snapshot.
 */
export async function collectSnapshot(sql: Sql, options: CollectOptions, base?: CounterBase): Promise<Snapshot> {
  try {
    return await sql.begin('read only', (tx) => collectIn(tx, options, base)) as Snapshot;
  } catch (error) {
    throw describeMetricsError(error);
  }
}
