import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { createLogin } from '../domain/helpers.js';
import { withRun } from '../../src/runs/ledger.js';
import { HEALTH_CHECKS, exitCodeFor, grade, worstStatus } from '../../src/health/checks.js';
import { healthCheckConfigSchema } from '../../src/health/config.js';

describe('health-check: catalogue, grading and config', () => {
  it('grades above/below thresholds, ranks statuses and maps exit codes (--fail-on)', () => {
    expect(grade(85, 80, 95, 'above')).toBe('warning');
    expect(grade(95, 80, 95, 'above')).toBe('critical');
    expect(grade(null, 80, 95, 'above')).toBe('ok');
    expect(grade(92, 95, 90, 'below')).toBe('warning');
    expect(grade(5, null, 1, 'above')).toBe('critical');
    expect(worstStatus(['ok', 'unknown', 'warning'])).toBe('warning');
    expect(worstStatus(['ok', 'unknown'])).toBe('unknown');
    expect([exitCodeFor('ok'), exitCodeFor('warning'), exitCodeFor('critical'), exitCodeFor('unknown')]).toEqual([0, 1, 2, 3]);
    expect([exitCodeFor('warning', 'critical'), exitCodeFor('unknown', 'critical'), exitCodeFor('critical', 'critical')]).toEqual([0, 0, 2]);
  });

  it('check names are kebab-case and unique; a mistyped check name in the config is an error naming its path', () => {
    const names = HEALTH_CHECKS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    const bad = healthCheckConfigSchema.safeParse({ thresholds: { conections: { warning: 1 } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['thresholds'], code: 'unrecognized_keys', keys: ['conections'] });
    expect(healthCheckConfigSchema.parse({ thresholds: { connections: { warning: 70 } } }).statementTimeoutMs).toBe(2000);
  });
});

describe('health-check through the CLI, as the monitor login', async () => {
  const db = await createTestDatabase();
  const monitor = await createLogin(db, 'monitor');
  const cwd = scratchDir();
  /** A config file whose healthCheck section is `doc`. */
  const thresholds = (doc: unknown) => {
    const file = join(cwd, `t${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ healthCheck: doc }));
    return file;
  };

  it('the ops.health_checks() catalogue equals the checks the CLI knows', async () => {
    const rows = await db.sql`select check_name, category, unit, warning::float8, critical::float8, direction, remedy from ops.health_checks()`;
    const sqlChecks = HEALTH_CHECKS.filter((c) => c.source === 'sql')
      .map((c) => ({ check_name: c.name, category: c.category, unit: c.unit, warning: c.warning, critical: c.critical, direction: c.direction, remedy: c.remedy }));
    expect(rows.map((r) => ({ ...r }))).toEqual(sqlChecks);
  });

  it('exit 1 with only the freshness warnings of a new database, 0 with --fail-on critical, 0 once runs are recorded', async () => {
    // server-wide numbers that other test files move (their CREATE DATABASE forces checkpoints)
    const serverWide = ['--skip', 'checkpoints-requested,cache-hit-ratio,connections'];
    const warn = await runCli(['health-check', '--database-url', monitor.url, ...serverWide], { cwd });
    expect(warn.code, warn.stderr).toBe(1);
    expect(warn.stdout).toMatch(/last-backup\s+│ WARNING/);
    expect(warn.stdout).toContain('fix: run `bookingdb backup`');
    expect(warn.stdout).toMatch(/health: WARNING \(0 critical, 4 warning, 0 unknown, \d+ ok\)/);
    expect(warn.stdout + warn.stderr).not.toContain(monitor.password);
    const ci = await runCli(['health-check', '--database-url', monitor.url, '--fail-on', 'critical', '--format', 'json', ...serverWide], { cwd });
    expect(ci.code).toBe(0);
    const doc = JSON.parse(ci.stdout);
    expect([doc.status, doc.exitCode, doc.counts.warning]).toEqual(['warning', 0, 4]);
    for (const command of ['maintain', 'backup', 'restore-verify']) await withRun(db.sql, command, null, async () => ({}));
    await withRun(db.sql, 'metrics', 'store', async () => ({}));
    const ok = await runCli(['health-check', '--database-url', monitor.url, ...serverWide], { cwd });
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('a critical check exits 2 (also with --fail-on critical); thresholds come from the healthCheck section', async () => {
    const file = thresholds({ thresholds: { connections: { warning: null, critical: 0 } } });
    const res = await runCli(['health-check', '--database-url', monitor.url, '--only', 'connections,tenant-rls', '--config', file, '--fail-on', 'critical', '--format', 'nagios'], { cwd });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/^BOOKINGDB CRITICAL - 1 critical: connections [\d.]+%; 1 ok \| connections=[\d.]+%;;0 tenant-rls=0;;1\n$/);
    const bad = await runCli(['health-check', '--database-url', monitor.url, '--config', thresholds({ thresholds: { conections: {} } })], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key "healthCheck.thresholds.conections"');
    const unknownName = await runCli(['health-check', '--database-url', monitor.url, '--only', 'nope'], { cwd });
    expect([unknownName.code, unknownName.stderr.includes('unknown health check "nope"')]).toEqual([2, true]);
  });

  it('nagios and prometheus print UNKNOWN / up 0 with exit 3 when the database cannot be reached', async () => {
    const url = new URL(monitor.url);
    url.port = '1';
    const res = await runCli(['health-check', '--database-url', url.toString(), '--format', 'nagios', '--connect-timeout', '3'], { cwd });
    expect(res.code).toBe(3);
    expect(res.stdout).toMatch(/^BOOKINGDB UNKNOWN - connection refused at 127\.0\.0\.1:1\n$/);
    const table = await runCli(['health-check', '--database-url', url.toString()], { cwd });
    expect(table.code).toBe(3);
    const out = join(cwd, 'down.prom');
    const prom = await runCli(['health-check', '--database-url', url.toString(), '--format', 'prometheus', '--output', out], { cwd });
    expect(prom.code).toBe(3);
    expect(readFileSync(out, 'utf8')).toContain('bookingdb_health_up 0');
  });

  it('--format prometheus --output writes the textfile atomically, and promtool accepts it', async () => {
    const dir = scratchDir();
    const out = join(dir, 'bookingdb.prom');
    const res = await runCli(['health-check', '--database-url', monitor.url, '--format', 'prometheus', '--output', out, '--only', 'connections,deadlocks,expired-holds,last-backup', '--fail-on', 'critical'], { cwd });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('# TYPE bookingdb_health_status gauge');
    expect(text).toMatch(/bookingdb_health_status\{check="connections",category="server"\} 0/);
    expect(text).toMatch(/bookingdb_health_value\{check="expired-holds",unit="count"\} 0/);
    expect(text).toContain('bookingdb_health_up 1');
    expect(readdirSync(dir)).toEqual(['bookingdb.prom']); // no temp file left behind
    // promtool (Debian package prometheus) is installed by .ci/run; missing, this fails
    const lint = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint).toBe('');
  });
});
