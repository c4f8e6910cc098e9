import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir, type CliResult } from '../helpers/cli.js';
import { sleep } from '../domain/helpers.js';
import { entries } from './helpers.js';

// kill -9 in the middle of a dump, of bookingdb and of pg_dump: no backup that
// `backup list` calls complete, and the next backup succeeds and removes the leftovers.
const db = await createTestDatabase();
const cwd = scratchDir();
const password = decodeURIComponent(new URL(db.url).password);

beforeAll(async () => {
  // enough incompressible rows that the dump takes a while, even with --compress 0
  await db.sql`create table ops.filler as select g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) as t from generate_series(1, 200000) g`;
});

/** Process ids whose parent is `pid` (from /proc). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Bytes of the archive in the partial directory, or 0 while there is none. */
function partialBytes(dir: string): number {
  const partial = entries(dir).find((n) => n.startsWith('.partial-'));
  if (!partial) return 0;
  try {
    return statSync(join(dir, partial, 'dump.pgdump')).size;
  } catch {
    return 0;
  }
}

/** Starts a backup and, once pg_dump has written 1 MB, hands bookingdb's and pg_dump's pids to `kill`. */
async function interruptBackup(dir: string, kill: (pids: { bookingdb: number; pgDump: number }) => void): Promise<{ result: CliResult; pgDump: number; pgDumpArgv: string }> {
  let pid = 0;
  const done = runCli(['backup', '--database-url', db.url, '--dir', dir, '--compress', '0'], { cwd, onSpawn: (p) => { pid = p; }, timeoutMs: 120_000 });
  let pgDump = 0;
  for (let i = 0; i < 6000 && partialBytes(dir) < 1 << 20; i++) await sleep(10);
  pgDump = children(pid).find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('pg_dump')) ?? 0;
  expect(pgDump, 'pg_dump is running').toBeGreaterThan(0);
  const pgDumpArgv = readFileSync(`/proc/${pgDump}/cmdline`, 'utf8').split('\0').join(' ');
  kill({ bookingdb: pid, pgDump });
  return { result: await done, pgDump, pgDumpArgv };
}

async function listJson(dir: string): Promise<{ id: string; state: string }[]> {
  const res = await runCli(['backup', 'list', '--dir', dir, '--json'], { cwd });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).backups;
}

describe('an interrupted backup', { timeout: 180_000 }, () => {
  it('kill -9 of bookingdb mid-dump: pg_dump stops, nothing looks complete, the run shows interrupted, the next backup removes the partial', async () => {
    const dir = join(cwd, 'kill-bookingdb');
    const { result, pgDump, pgDumpArgv } = await interruptBackup(dir, ({ bookingdb }) => process.kill(bookingdb, 'SIGKILL'));
    expect(result.code).toBe(137);
    expect(pgDumpArgv).toContain('--snapshot=');
    expect(pgDumpArgv).not.toContain(password); // the password never on pg_dump's command line
    for (let i = 0; i < 500 && running(pgDump); i++) await sleep(20);
    expect(running(pgDump), 'pg_dump exits once its reader is gone').toBe(false);
    const listed = await listJson(dir);
    expect(listed.filter((b) => b.state === 'complete')).toEqual([]);
    expect(listed.map((b) => b.state)).toEqual(['incomplete']);
    let state = '';
    for (let i = 0; i < 100 && state !== 'interrupted'; i++) {
      [{ state }] = await db.sql`select state from ops.run_history where command = 'backup' order by id desc limit 1` as unknown as [{ state: string }];
      if (state !== 'interrupted') await sleep(50);
    }
    expect(state).toBe('interrupted');

    const partial = entries(dir).find((n) => n.startsWith('.partial-'))!;
    const next = await runCli(['backup', '--database-url', db.url, '--dir', dir, '--json'], { cwd, timeoutMs: 120_000 });
    expect(next.code, next.stderr).toBe(0);
    const receipt = JSON.parse(next.stdout);
    expect(receipt.removedLeftovers).toEqual([partial]);
    expect(next.stderr).toContain(`removed ${partial}: the leftover of a backup that did not complete`);
    expect(entries(dir)).toEqual([receipt.id]);
    expect((await listJson(dir)).map((b) => `${b.id}:${b.state}`)).toEqual([`${receipt.id}:complete`]);
  });

  it('kill -9 of pg_dump mid-dump: exit 1 naming the signal, the partial removed, nothing complete; the next backup succeeds', async () => {
    const dir = join(cwd, 'kill-pg-dump');
    const { result } = await interruptBackup(dir, ({ pgDump }) => process.kill(pgDump, 'SIGKILL'));
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('error: pg_dump was stopped by SIGKILL');
    expect(result.stderr).toContain('the partial backup was removed and nothing was pruned');
    expect(entries(dir)).toEqual([]);
    expect(await listJson(dir)).toEqual([]);
    const [run] = await db.sql`select status from ops.runs where command = 'backup' order by id desc limit 1`;
    expect(run.status).toBe('failed');
    const next = await runCli(['backup', '--database-url', db.url, '--dir', dir, '--json'], { cwd, timeoutMs: 120_000 });
    expect(next.code, next.stderr).toBe(0);
    expect(entries(dir)).toEqual([JSON.parse(next.stdout).id]);
  });
});
