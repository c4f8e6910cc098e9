import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { createTenant } from '../domain/helpers.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { readRuns } from '../../src/runs/ledger.js';

// `bookingdb maintain` killed with SIGKILL mid-way through `retention`: five customers
// due, two per batch. The test holds the payment row of the fifth customer, so the third
// batch has already rewritten that customer's row and its booking when it waits (it clears
// payments last); the process is killed while it waits. Afterwards the two committed
// batches stay done, the third left nothing behind (a batch is one transaction), the run
// shows `interrupted` in ops.runs, and the next maintain finishes the work and exits 0.
const db = await createTestDatabase();
const cwd = scratchDir();
const config = join(cwd, 'bookingdb.config.json');
writeFileSync(config, JSON.stringify({ maintain: { lockTimeoutMs: 60_000, lockAttempts: 1, retention: { batchSize: 2 } } }));
const args = ['maintain', '--only', 'retention', '--database-url', db.url, '--config', config];
await db.sql.unsafe(`alter table booking.payments add column payer_name text;
  comment on column booking.payments.payer_name is 'pii';`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('maintain killed with SIGKILL', () => {
  it('leaves the run interrupted and only whole batches done; the next run finishes and exits 0', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const ids: string[] = [];
    const payments: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ago = `${40 - i} months`; // oldest first: batches {0,1} {2,3} {4}
      const [c] = await db.sql`insert into booking.customers (tenant_id, email, full_name, phone, last_booking_at, created_at)
        values (${fx.tenantId}, ${`k${i}@${fx.slug}.example`}, ${`Killed ${i}`}, '+49 30 1', now() - ${ago}::interval, now() - interval '5 years')
        returning id`;
      const [b] = await db.sql`insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, status, during, price_cents, cancelled_at, cancel_reason)
        values (${fx.tenantId}, ${c.id}, ${fx.services.cut}, ${fx.resources[0]}, 'cancelled',
                tstzrange(now() - ${ago}::interval, now() - ${ago}::interval + interval '1 hour'), 3000, now() - ${ago}::interval, ${`reason of Killed ${i}`})
        returning id`;
      const [p] = await db.sql`insert into booking.payments (tenant_id, booking_id, amount_cents, payer_name)
        values (${fx.tenantId}, ${b.id}, 3000, ${`Killed ${i}`}) returning id`;
      ids.push(c.id);
      payments.push(p.id);
    }
    const state = async () => {
      const rows = await db.sql`select c.id, c.anonymized_at is not null as gone, c.email, b.cancel_reason, p.payer_name
        from booking.customers c join booking.bookings b on b.customer_id = c.id join booking.payments p on p.booking_id = b.id
        where c.tenant_id = ${fx.tenantId}`;
      return ids.map((id) => rows.find((r) => r.id === id)!);
    };
    const audit = async () => Number((await db.sql`select count(*) as n from ops.audit_log where tenant_id = ${fx.tenantId} and action = 'retention.anonymise'`)[0].n);

    const blocker = await db.sql.reserve();
    let waiting = 0;
    try {
      const [{ pid: blockerPid }] = await blocker`select pg_backend_pid() as pid`;
      await blocker.unsafe('begin');
      await blocker`select 1 from booking.payments where id = ${payments[4]} for update`;

      let child = 0;
      const killed = runCli(args, { cwd, onSpawn: (pid) => { child = pid; } });
      waiting = await until('the third batch to wait on the held payment row', async () => {
        const [r] = await db.sql`select pid from pg_stat_activity where ${blockerPid}::int = any (pg_blocking_pids(pid))`;
        return r ? Number(r.pid) : undefined;
      });
      process.kill(child, 'SIGKILL');
      const res = await killed;
      expect(res.code).toBe(137);

      // the ledger's session is gone with the process: the run reads as interrupted
      const run = await until('the run to show interrupted', async () => {
        const [r] = await readRuns(db.sql, { command: 'maintain', task: 'retention', limit: 1 });
        return r?.state === 'interrupted' ? r : undefined;
      });
      expect(run.finishedAt).toBeNull();
    } finally {
      await blocker.unsafe('rollback').catch(() => undefined);
      blocker.release();
    }
    // the orphaned batch gets its lock now, finds no client to commit for, and rolls back
    await until('the killed batch to end', async () => {
      const [r] = await db.sql`select count(*)::int as n from pg_stat_activity where pid = ${waiting}`;
      return r.n === 0;
    });
    const after = await state();
    expect(after.map((r) => r.gone)).toEqual([true, true, true, true, false]);
    expect(after[4]).toMatchObject({ email: `k4@${fx.slug}.example`, cancel_reason: 'reason of Killed 4', payer_name: 'Killed 4' });
    for (const r of after.slice(0, 4)) expect(r).toMatchObject({ email: null, cancel_reason: null, payer_name: null });
    expect(await audit()).toBe(2);

    const next = await runCli([...args, '--json'], { cwd });
    expect(next.code, next.stderr).toBe(0);
    const doc = JSON.parse(next.stdout);
    expect(doc.tasks[0]).toMatchObject({ name: 'retention', status: 'ok', detail: { customersAnonymised: 1, batches: 1 } });
    expect((await state()).every((r) => r.gone && r.email === null && r.cancel_reason === null && r.payer_name === null)).toBe(true);
    expect(await audit()).toBe(3);
    const runs = await readRuns(db.sql, { command: 'maintain', task: 'retention', limit: 2 });
    expect(runs.map((r) => r.state)).toEqual(['ok', 'interrupted']);
  });
});
