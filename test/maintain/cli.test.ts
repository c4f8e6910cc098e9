import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { MAINTAIN_LOCK_KEY } from '../../src/maintain/locks.js';
import { auditPartitions, partitionName } from './helpers.js';

// `bookingdb maintain` as cron runs it: exit codes, --json, --dry-run, --skip-if-busy,
// the config section, and health-check's last-maintain turning ok after a run.
const db = await createTestDatabase();
const cwd = scratchDir();
const url = ['--database-url', db.url];

describe('bookingdb maintain (CLI)', () => {
  it('an unknown task name is exit 2 before connecting', async () => {
    const res = await runCli(['maintain', '--only', 'expire-holds,vacum', '--database-url', 'postgres://nobody@127.0.0.1:1/none'], { cwd });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain('--only: unknown task "vacum"');
    expect(res.stderr).toContain('expire-holds, partitions, retention, refresh, vacuum, reindex, prune, idle-sessions');
  });

  it('health-check last-maintain is a warning before the first run and ok after it; --json is one document', async () => {
    const check = async () => {
      const res = await runCli(['health-check', ...url, '--only', 'last-maintain', '--format', 'json'], { cwd });
      return JSON.parse(res.stdout).checks[0].status as string;
    };
    expect(await check()).toBe('warning');
    const dry = await runCli(['maintain', ...url, '--dry-run'], { cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing changed; 7 tasks');
    expect(await check()).toBe('warning'); // a dry run records nothing
    const res = await runCli(['maintain', ...url, '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc).toMatchObject({ ok: true, status: 'ok', exitCode: 0, dryRun: false });
    expect(doc.tasks.map((t: { name: string; status: string }) => `${t.name}:${t.status}`)).toEqual(['expire-holds:ok', 'partitions:ok', 'retention:ok', 'refresh:ok', 'vacuum:ok', 'reindex:ok', 'prune:ok']);
    expect(res.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z expire-holds: running$/m);
    expect(await check()).toBe('ok');
  });

  it('a second maintain exits 5 naming the holder, or 0 with --skip-if-busy', async () => {
    const holder = await db.sql.reserve();
    try {
      const [{ pid }] = await holder`select pg_backend_pid() as pid, pg_advisory_lock(${MAINTAIN_LOCK_KEY.toString()}::bigint)`;
      const busy = await runCli(['maintain', ...url], { cwd });
      expect(busy.code, busy.stderr).toBe(5);
      expect(busy.stderr).toContain(`another maintain is running: pid ${pid}`);
      const cron = await runCli(['maintain', ...url, '--skip-if-busy'], { cwd });
      expect(cron.code, cron.stderr).toBe(0);
      expect(cron.stdout).toContain('skipped: another maintain is running');
    } finally {
      await holder`select pg_advisory_unlock_all()`;
      holder.release();
    }
  });

  it('reads the maintain section of the config file; a mistyped key there is exit 2 naming it', async () => {
    const file = join(cwd, 'maintain.config.json');
    writeFileSync(file, JSON.stringify({ maintain: { lockTimeoutMs: 500, partitions: { monthsAhead: 5 } } }));
    const res = await runCli(['maintain', ...url, '--config', file, '--only', 'partitions'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(await auditPartitions(db.sql)).toContain(await partitionName(db.sql, 5));
    writeFileSync(file, JSON.stringify({ maintain: { partitions: { monthAhead: 5 } } }));
    const bad = await runCli(['maintain', ...url, '--config', file], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key "maintain.partitions.monthAhead"');
  });
});
