import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { seedDemo } from '../../src/seed/demo.js';
import { DEMO_SMALL } from '../../src/seed/run.js';
import { benchReportSchema } from '../../src/bench/report.js';
import { findOverlaps } from '../../src/bench/overlaps.js';
import { BENCH_LOGIN_PREFIX } from '../../src/bench/login.js';
import { ANCHOR_SCHEMA_PREFIX } from '../../src/bench/anchor.js';
import { OPERATIONS } from '../../src/bench/options.js';

// `bookingdb bench` on a real server with the small demo seed, 2-second runs: the
// report's counts, --json, the overlap proof, the p95 targets, --anchor, and that the
// temporary app login and the anchor schema are gone after every run, failed ones too.
const db = await createTestDatabase();
const cwd = scratchDir();
const url = ['--database-url', db.url];
// short runs on a shared machine: latency targets far away unless a test is about them
const quick = ['--duration', '2s', '--warmup', '0', '--days', '7', '--clients', '4', '--tenants', '2',
  '--mix', 'availability=40,book=30,cancel=15,reschedule=15', '--target-p95', 'availability=60s,book=60s'];

async function leftovers(): Promise<string[]> {
  const rows = await db.sql`
    select rolname as name from pg_roles where rolname like ${`${BENCH_LOGIN_PREFIX}%`}
    union all select nspname from pg_namespace where nspname like ${`${ANCHOR_SCHEMA_PREFIX}%`}`;
  return rows.map((r) => r.name as string);
}

beforeAll(async () => {
  await seedDemo(db.sql, DEMO_SMALL);
});

describe('bookingdb bench', () => {
  it('bad --mix is exit 2 before connecting', async () => {
    const res = await runCli(['bench', '--mix', 'availability=70,bok=30', '--database-url', 'postgres://nobody@127.0.0.1:1/none'], { cwd });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain('error: unknown operation "bok" in --mix');
  });

  it('--anchor --json: every operation ran in both systems, counts add up, the ratio is there, nothing is left behind', async () => {
    const [{ started }] = await db.sql`select now() as started`;
    const res = await runCli(['bench', ...url, ...quick, '--anchor', '--json'], { cwd, timeoutMs: 90_000 });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const report = benchReportSchema.parse(JSON.parse(res.stdout));
    expect(report.ok).toBe(true);
    expect(report.settings).toMatchObject({ login: 'temporary', anchor: true, prepare: true, tx: 'statement', clients: 4 });
    for (const name of ['procedures', 'anchor'] as const) {
      const sys = report.systems[name];
      expect(sys, name).toBeDefined();
      for (const op of OPERATIONS) {
        const s = sys!.operations[op];
        expect(s.calls, `${name} ${op}`).toBeGreaterThan(0);
        expect(s.recorded, `${name} ${op}`).toBe(s.calls);
        expect(s.ok + s.conflicts + Object.values(s.errors).reduce((a, b) => a + b, 0)).toBe(s.calls);
        expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms);
        expect(s.p95Ms).toBeLessThanOrEqual(s.p99Ms);
        expect(s.p99Ms).toBeLessThanOrEqual(s.maxMs * 1.001);
      }
      expect(sys!.operations.book.ok, `${name}: some bookings succeed`).toBeGreaterThan(0);
    }
    expect(report.ratio?.overall).toBeGreaterThan(0);
    // fair anchor: both systems ran the same offered calls (the anchor replays the
    // procedures' slice of the offer stream), so they made as many calls and booked
    // comparable shares of them
    const total = (name: 'procedures' | 'anchor') => OPERATIONS.reduce((n, op) => n + report.systems[name]!.operations[op].calls, 0);
    expect(total('anchor')).toBe(total('procedures'));
    const share = (name: 'procedures' | 'anchor') => report.systems[name]!.operations.book.ok / report.systems[name]!.operations.book.calls;
    expect(Math.abs(share('procedures') - share('anchor'))).toBeLessThan(0.1);
    expect(report.settings.offers).toBeGreaterThanOrEqual(total('procedures'));
    expect(report.anchor).toMatchObject({ dropped: true });
    expect(report.overlaps.map((o) => [o.table.startsWith(ANCHOR_SCHEMA_PREFIX) ? 'anchor' : o.table, o.found])).toEqual([
      ['booking.booking_allocations', 0], ['anchor', 0]]);
    expect(report.overlaps[0].checked).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
    const [run] = await db.sql`select status from ops.runs where command = 'bench' order by id desc limit 1`;
    expect(run.status).toBe('ok');
    // the bookings it made were cancelled again through the API, so the next run finds the same free slots
    const made = await db.sql`select status, cancel_reason, count(*)::int as n from booking.bookings
      where created_at >= ${started} group by 1, 2 order by 1, 2`;
    expect(report.cleanup).toMatchObject({ failed: 0 });
    expect(report.cleanup.cancelled).toBeGreaterThan(0);
    expect(made.filter((m) => m.status === 'confirmed')).toEqual([]); // (a cancel may offer the slot to a waitlist entry as a pending hold)
  });

  it('the text report prints the ratio; --anchor-copy all copies every blocking allocation; a missed --target-p95 is exit 1 and the login is still dropped', async () => {
    // what blocks now, whatever tenant or resource (a hold expiring within the minute may or may not be copied)
    const [blocking] = await db.sql`
      select count(*) filter (where hold_expires_at is null or hold_expires_at > now() + interval '1 minute')::int as surely,
             count(*) filter (where hold_expires_at is null or hold_expires_at > now())::int as most
        from booking.booking_allocations where active`;
    const res = await runCli(['bench', ...url, ...quick, '--duration', '1s', '--mix', 'availability=60,book=40', '--anchor', '--anchor-copy', 'all',
      '--target-p95', 'availability=0.001ms'], { cwd, timeoutMs: 90_000 });
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/throughput, procedures \/ anchor: overall [\d.]+x/);
    const copied = Number(/the anchor's copy holds (\d+) allocations, every active allocation of the database/.exec(res.stdout)?.[1]);
    expect(copied).toBeGreaterThanOrEqual(blocking.surely);
    expect(copied).toBeLessThanOrEqual(blocking.most);
    expect(res.stdout).toContain('each call one statement (its own transaction, tenant set in a subquery)');
    expect(res.stdout).toContain('p95 target availability:');
    expect(res.stderr).toMatch(/error: availability p95 [\d.]+ ms is over the target of 0.001 ms/);
    expect(await leftovers()).toEqual([]);
  });

  it('--tx explicit sends each call as BEGIN, set_config + call, COMMIT, in both systems, with the same results', async () => {
    const res = await runCli(['bench', ...url, ...quick, '--duration', '1s', '--anchor', '--tx', 'explicit', '--json'], { cwd, timeoutMs: 90_000 });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const report = benchReportSchema.parse(JSON.parse(res.stdout));
    expect(report.settings.tx).toBe('explicit');
    for (const name of ['procedures', 'anchor'] as const) {
      for (const op of OPERATIONS) {
        const s = report.systems[name]!.operations[op];
        expect(s.calls, `${name} ${op}`).toBeGreaterThan(0);
        expect(s.errors, `${name} ${op}`).toEqual({});
      }
      expect(report.systems[name]!.operations.book.ok, `${name}: some bookings succeed`).toBeGreaterThan(0);
    }
    expect(report.overlaps.map((o) => o.found)).toEqual([0, 0]);
    expect(await leftovers()).toEqual([]);
  });

  it('a run that fails after making its login (unreachable --replica-url) drops it too', async () => {
    const res = await runCli(['bench', ...url, ...quick, '--replica-url', 'postgres://127.0.0.1:1/none'], { cwd, timeoutMs: 90_000 });
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toContain('connection refused at 127.0.0.1:1');
    expect(await leftovers()).toEqual([]);
    const [run] = await db.sql`select status from ops.runs where command = 'bench' order by id desc limit 1`;
    expect(run.status).toBe('failed');
  });

  it('SIGINT mid-run: the calls in flight finish, the login and the anchor schema are dropped, exit 1 (interrupted)', async () => {
    let pid = 0;
    const running = runCli(['bench', ...url, ...quick, '--duration', '60s', '--anchor', '--json'], { cwd, timeoutMs: 90_000, onSpawn: (p) => { pid = p; } });
    const deadline = Date.now() + 30_000;
    while ((await leftovers()).filter((n) => n.startsWith(ANCHOR_SCHEMA_PREFIX)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await leftovers()).toHaveLength(2); // the login and the anchor schema exist while it runs
    process.kill(pid, 'SIGINT');
    const res = await running;
    expect(res.code, res.stderr).toBe(1);
    const report = benchReportSchema.parse(JSON.parse(res.stdout));
    expect(report).toMatchObject({ ok: false, interrupted: true, anchor: { dropped: true } });
    expect(report.problems).toContain('interrupted before the end of the run');
    expect(res.stderr).toContain('interrupted: finishing the calls in flight');
    expect(await leftovers()).toEqual([]);
  });

  it('the overlap proof finds a planted overlap (on a table without the exclusion constraint) and only that one', async () => {
    await db.sql.unsafe(`
      create schema crafted;
      create table crafted.allocations (tenant_id uuid not null, id uuid not null default gen_random_uuid(), resource_id uuid not null,
        blocked tstzrange not null, active boolean not null default true,
        starts timestamptz generated always as (lower(blocked)) stored, ends timestamptz generated always as (upper(blocked)) stored)`);
    const [t, r, other] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
    await db.sql`insert into crafted.allocations (tenant_id, resource_id, blocked, active) values
      (${t}, ${r}, '[2030-01-01 10:00Z, 2030-01-01 11:00Z)', true),
      (${t}, ${r}, '[2030-01-01 10:30Z, 2030-01-01 11:30Z)', true),
      (${t}, ${r}, '[2030-01-01 11:30Z, 2030-01-01 12:00Z)', true),
      (${t}, ${r}, '[2030-01-01 10:00Z, 2030-01-01 12:00Z)', false),
      (${t}, ${other}, '[2030-01-01 10:00Z, 2030-01-01 11:00Z)', true)`;
    const scope = { tenants: [t], resources: [r, other], from: new Date('2030-01-01T00:00Z'), to: new Date('2030-01-02T00:00Z') };
    const found = await findOverlaps(db.sql, 'crafted.allocations', scope);
    expect(found.checked).toBe(4);
    expect(found.overlaps).toHaveLength(1);
    expect(found.overlaps[0]).toMatchObject({ tenantId: t, resourceId: r });
    expect([found.overlaps[0].aBlocked, found.overlaps[0].bBlocked].sort()).toEqual([
      '["2030-01-01 10:00:00+00","2030-01-01 11:00:00+00")', '["2030-01-01 10:30:00+00","2030-01-01 11:30:00+00")']);
    // outside the scope's window (widened by a day) it is not looked at
    expect((await findOverlaps(db.sql, 'crafted.allocations', { ...scope, from: new Date('2030-02-01T00:00Z'), to: new Date('2030-02-02T00:00Z') })).overlaps).toEqual([]);
  });
});
