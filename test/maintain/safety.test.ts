import { describe, expect, it } from 'vitest';
import { createTestDatabase, pool } from '../helpers/database.js';
import { readRuns } from '../../src/runs/ledger.js';
import { runMaintain } from '../../src/maintain/runner.js';
import { BookingDbError } from '../../src/errors.js';
import { findLockHolder } from '../../src/db/scoped.js';
import { MAINTAIN_LOCK_KEY } from '../../src/maintain/locks.js';
import { partitionName } from './helpers.js';

// Never blocking traffic for long, and one maintain at a time: a session holding
// ACCESS EXCLUSIVE on the audit log makes the partitions task wait only lock_timeout
// per attempt, be skipped naming the blocker, and the run goes on; a second maintain
// started meanwhile is refused at once (exit 5) naming the first.
const db = await createTestDatabase();
const maintA = pool(db.url, 5);
const maintB = pool(db.url, 5);

describe('maintain under a lock it cannot get', () => {
  it('skips the blocked task naming the blocking pid and query, runs the others, and a concurrent maintain exits 5', async () => {
    const gap = await partitionName(db.sql, 1);
    await db.sql.unsafe(`drop table ops.${gap}`); // so partitions has DDL to do
    const blocker = await db.sql.reserve();
    try {
      const [{ pid }] = await blocker`select pg_backend_pid() as pid`;
      await blocker.unsafe('begin');
      await blocker.unsafe('lock table ops.audit_log in access exclusive mode');

      const first = runMaintain(maintA, { lockTimeoutMs: 600, lockAttempts: 2 });
      first.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      // the second starts once the first holds the maintain lock (it then waits >= 1200 ms on the audit log)
      for (let i = 0; !(await findLockHolder(db.sql, MAINTAIN_LOCK_KEY)); i++) {
        if (i > 200) throw new Error('the first maintain never took its lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = runMaintain(maintB, { lockTimeoutMs: 600, lockAttempts: 2 }).then(
        () => { throw new Error('the second maintain ran'); },
        (error: unknown) => error,
      );
      const busy = await second;
      expect(busy).toBeInstanceOf(BookingDbError);
      expect((busy as BookingDbError).exitCode).toBe(5);
      expect((busy as BookingDbError).message).toMatch(/another maintain is running: pid \d+/);
      const skipped = await runMaintain(maintB, { skipIfBusy: true });
      expect(skipped).toMatchObject({ status: 'busy', exitCode: 0, tasks: [] });
      expect(skipped.holder?.pid).toBeGreaterThan(0);

      const report = await first;
      expect(report.tasks.map((t) => [t.name, t.status])).toEqual([['expire-holds', 'ok'], ['partitions', 'skipped'], ['retention', 'ok'], ['refresh', 'ok'], ['vacuum', 'ok'], ['reindex', 'ok'], ['prune', 'ok']]);
      expect(report.exitCode).toBe(0);
      const partitions = report.tasks[1];
      expect(partitions.reason).toContain(`pid ${pid}`);
      expect(partitions.reason).toMatch(/lock table ops\.audit_log/i);
      const [run] = await readRuns(db.sql, { command: 'maintain', task: 'partitions', limit: 1 });
      expect(run).toMatchObject({ id: partitions.runId, state: 'skipped' });
      expect(run.detail).toMatchObject({ reason: partitions.reason, attempts: 2 });
      expect((run.detail.blockers as { pid: number }[]).map((b) => b.pid)).toContain(Number(pid));
    } finally {
      await blocker.unsafe('rollback').catch(() => undefined);
      blocker.release();
    }
    // with the blocker gone, the next run creates the partition
    const again = await runMaintain(maintA, { only: ['partitions'] });
    expect(again.tasks[0]).toMatchObject({ status: 'ok', detail: { created: [gap] } });
  });

  it('a failing task is recorded failed, the others still run, and the run exits 1 naming it', async () => {
    // make expire-holds fail for real: its ops function is gone
    await db.sql`alter function ops.maintain_expire_holds(uuid, integer) rename to maintain_expire_holds_gone`;
    try {
      const report = await runMaintain(maintA);
      expect(report).toMatchObject({ status: 'failed', exitCode: 1 });
      expect(report.tasks.map((t) => [t.name, t.status])).toEqual([['expire-holds', 'failed'], ['partitions', 'ok'], ['retention', 'ok'], ['refresh', 'ok'], ['vacuum', 'ok'], ['reindex', 'ok'], ['prune', 'ok']]);
      expect(report.tasks[0].reason).toMatch(/maintain_expire_holds/);
      const [run] = await readRuns(db.sql, { command: 'maintain', task: 'expire-holds', limit: 1 });
      expect(run).toMatchObject({ id: report.tasks[0].runId, state: 'failed' });
    } finally {
      await db.sql`alter function ops.maintain_expire_holds_gone(uuid, integer) rename to maintain_expire_holds`;
    }
  });
});
