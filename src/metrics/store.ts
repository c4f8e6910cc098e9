import type { Sql } from 'postgres';
import { setLocalTimeouts } from '../db/scoped.js';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { withRun } from '../runs/ledger.js';
import { collectIn, describeMetricsError, type CollectOptions, type Snapshot } from './collect.js';
import { metricsQuery } from './queries.js';

/**
 * `metrics --store`: collects a snapshot and writes it into ops.metric_snapshots in
 * one transaction, recorded as a `metrics` run in ops.runs. The transaction holds an
 * advisory transaction lock ('bkdb' / 0x6d657472 'metr') while it reads the previous
 * snapshot and writes the next, so two overlapping cron runs never build on the same
 * snapshot (which would count its window twice): the second one is recorded as
 * `skipped`.
 */
export const STORE_LOCK_KEY = (0x626b6462n << 32n) | 0x6d657472n;

export interface StoredSnapshot {
  snapshot?: Snapshot;
  snapshotId?: number;
  runId: number;
  status: 'ok' | 'skipped';
}

export async function storeSnapshot(sql: Sql, options: CollectOptions): Promise<StoredSnapshot> {
  let snapshot: Snapshot | undefined;
  let snapshotId: number | undefined;
  try {
    const { run, status } = await withRun(sql, 'metrics', null, async (run) => {
      await sql.begin(async (tx) => {
        const [lock] = await tx`select pg_catalog.pg_try_advisory_xact_lock(${STORE_LOCK_KEY.toString()}::bigint) as ok`;
        if (!lock.ok) {
          throw new BookingDbError('skipped', 'another `metrics --store` is writing a snapshot', { details: { reason: 'busy' } });
        }
        snapshot = await collectIn(tx, options);
        const [row] = await tx.unsafe(metricsQuery('store-snapshot'), [
          snapshot.takenAt, snapshot.bookings.window.from, snapshot.bookings.window.to, run.id, tx.json(snapshot as never),
        ]);
        snapshotId = Number(row.id);
      });
      return {
        snapshotId, windowSeconds: snapshot!.bookings.window.seconds, tenants: snapshot!.bookings.tenants.length,
        created: snapshot!.bookings.since.created, collectMs: snapshot!.collectMs,
      };
    });
    return { snapshot: status === 'ok' ? snapshot : undefined, snapshotId, runId: run.id, status: status === 'ok' ? 'ok' : 'skipped' };
  } catch (error) {
    if (isPgError(error) && error.code === '42501') {
      throw new BookingDbError('not_allowed', `this login may not store metric snapshots: ${error.message}`, {
        exitCode: ExitCode.precondition, cause: error,
        hint: '`metrics --store` writes ops.runs and ops.metric_snapshots: run it as a login in bookingdb_owner (or a superuser); monitor logins can run `metrics` and `metrics serve`',
      });
    }
    throw describeMetricsError(error);
  }
}

/**
 * For `bookingdb maintain`: deletes snapshots older than retentionDays in batches
 * (never the newest); returns how many it deleted.
 */
export async function pruneMetricSnapshots(sql: Sql, retentionDays: number, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await sql.begin(async (tx) => {
      await setLocalTimeouts(tx, 10_000, 2000);
      return (await tx.unsafe(metricsQuery('prune-snapshots'), [retentionDays, batch])).length;
    }) as number;
    total += deleted;
    if (deleted < batch) return total;
  }
}
