import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase, pool } from '../helpers/database.js';
import { sleep } from '../domain/helpers.js';
import { readRuns } from '../../src/runs/ledger.js';
import { runMaintain } from '../../src/maintain/runner.js';
import { selectTasks } from '../../src/maintain/registry.js';

// idle-sessions on real sessions of this file's database: one idle in transaction past
// the threshold (terminated, and named), one idle in transaction for less (kept), one
// plainly idle (kept), and the maintain run's own sessions (never touched).
const db = await createTestDatabase();
const maint = pool(db.url, 5);

function session(name: string): postgres.Sql {
  const u = new URL(db.url);
  u.searchParams.set('application_name', name);
  return pool(u.toString(), 1);
}

async function alive(sql: postgres.Sql, pid: number): Promise<boolean> {
  const [r] = await sql`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
  return r.n === 1;
}

describe('maintain: idle-sessions', () => {
  it('is opt-in: not in the default set, only with --only idle-sessions', () => {
    expect(selectTasks().map((t) => t.name)).not.toContain('idle-sessions');
    expect(selectTasks(['idle-sessions']).map((t) => t.name)).toEqual(['idle-sessions']);
  });

  it('terminates the session idle in transaction past the threshold, naming it; the dry run terminates nothing', async () => {
    const stale = await session('stale-worker').reserve();
    const fresh = await session('fresh-worker').reserve();
    const idle = await session('idle-worker').reserve();
    const [{ pid: stalePid }] = await stale`select pg_backend_pid() as pid`;
    const [{ pid: freshPid }] = await fresh`select pg_backend_pid() as pid`;
    const [{ pid: idlePid }] = await idle`select pg_backend_pid() as pid`;
    await stale.unsafe('begin');
    await stale.unsafe("select 'stale work that was never committed, with a long statement text' as forgotten");
    await sleep(2200);
    await fresh.unsafe('begin');
    await fresh.unsafe('select 1 as just_started');
    const options = { only: ['idle-sessions'], taskOptions: { 'idle-sessions': { idleThresholdSeconds: 2 } } };

    const dry = await runMaintain(maint, { ...options, dryRun: true });
    expect(dry.tasks[0]).toMatchObject({ name: 'idle-sessions', status: 'ok', runId: null });
    const planned = dry.tasks[0].detail.sessions as { pid: number }[];
    expect(planned.map((s) => s.pid)).toEqual([Number(stalePid)]);
    expect(await alive(db.sql, Number(stalePid))).toBe(true);

    const report = await runMaintain(maint, options);
    expect(report.tasks[0]).toMatchObject({ name: 'idle-sessions', status: 'ok' });
    const detail = report.tasks[0].detail as { terminated: string[]; sessions: Record<string, unknown>[] };
    expect(detail.sessions).toHaveLength(1);
    expect(detail.sessions[0]).toMatchObject({
      pid: Number(stalePid), user: 'postgres', applicationName: 'stale-worker', state: 'idle in transaction', terminated: true,
      query: 'select $1', // the text cut at 60 characters, its constant replaced: no value reaches the ledger
    });
    expect(detail.sessions[0].idleSeconds).toBeGreaterThanOrEqual(2);
    expect(detail.terminated).toEqual([expect.stringMatching(new RegExp(`^pid ${stalePid} \\(postgres, stale-worker, idle in transaction for \\d+ s\\): select \\$1$`))]);
    for (let i = 0; (await alive(db.sql, Number(stalePid))) && i < 100; i++) await sleep(20);
    expect(await alive(db.sql, Number(stalePid))).toBe(false);
    expect(await alive(db.sql, Number(freshPid))).toBe(true);
    expect(await alive(db.sql, Number(idlePid))).toBe(true);
    await fresh.unsafe('rollback');
    const [run] = await readRuns(db.sql, { command: 'maintain', task: 'idle-sessions', limit: 1 });
    expect(run).toMatchObject({ id: report.tasks[0].runId, state: 'ok' });
    expect(run.detail.terminated).toEqual(detail.terminated);
    expect(JSON.stringify(run.detail)).not.toContain('stale work');
    stale.release();
    fresh.release();
    idle.release();
  });
});
