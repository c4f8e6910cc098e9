import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pool, type TestDatabase } from '../helpers/database.js';
import { createLogin } from '../domain/helpers.js';
import { runCli } from '../helpers/cli.js';
import { BookingDbError } from '../../src/errors.js';
import { listSlowQueries, type SlowStatement } from '../../src/slow-queries/slow-queries.js';
import { gradeRank } from '../../src/slow-queries/grade.js';

const base = { limit: 50, minMs: 0, statementTimeoutMs: 5000 };
const SLOW = /pg_sleep/;
const FAST = /from booking\.tenants where slug = \$1/;

function find(list: SlowStatement[], pattern: RegExp): SlowStatement | undefined {
  return list.find((s) => pattern.test(s.query));
}

describe('slow-queries against pg_stat_statements', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    // a deliberately slow statement (twice, 150 ms each) and a fast one (30 calls), literals inlined
    for (let i = 0; i < 2; i++) await db.sql.unsafe("select pg_catalog.pg_sleep(0.15), 'slow-literal-7f3a' as tag");
    for (let i = 0; i < 30; i++) await db.sql.unsafe(`select count(*) from booking.tenants where slug = 'fast-literal-${i}'`);
  });

  it('grades the slow statement below the fast one, with normalised text and the numbers', async () => {
    const report = await listSlowQueries(db.sql, base);
    expect(report.lists.map((l) => l.sort)).toEqual(['total', 'mean']);
    expect(report.database).toBe(db.name);
    expect(report.extension.schema).toBe('ext');
    const [byTotal, byMean] = report.lists.map((l) => l.statements);
    const slow = find(byMean, SLOW)!;
    const fast = find(byMean, FAST)!;
    expect(slow).toBeDefined();
    expect(fast).toBeDefined();
    expect(gradeRank(slow.grade)).toBeGreaterThan(gradeRank(fast.grade));
    expect(fast.grade).toBe('A');
    expect(slow.calls).toBe(2);
    expect(slow.meanMs).toBeGreaterThanOrEqual(150);
    expect(slow.maxMs).toBeGreaterThanOrEqual(slow.meanMs);
    expect(fast.calls).toBe(30);
    expect(fast.rows).toBe(30);
    expect(fast.hitRatio).toBeGreaterThan(0.9);
    // the slow one dominates this database's time, and its reason says so
    expect(slow.share).toBeGreaterThan(0.5);
    expect(slow.gradeReason).toMatch(/^mean \d+ ms, no buffer reads -> D; \d+% of all time -> F$/);
    expect(report.databaseTotalMs).toBeGreaterThanOrEqual(300);
    // PostgreSQL's normalised text: constants are $n, never the literal values
    const all = JSON.stringify(report);
    expect(all).not.toContain('slow-literal-7f3a');
    expect(all).not.toContain('fast-literal-');
    expect(slow.query).toMatch(/pg_sleep\(\$1\), \$2 as tag/);
    // its own reads never show up
    expect(all).not.toContain('bookingdb slow-queries');
    // the total list is ordered by total time, the mean list by mean
    expect(byTotal.map((s) => s.totalMs)).toEqual([...byTotal.map((s) => s.totalMs)].sort((a, b) => b - a));
    expect(byMean.map((s) => s.meanMs)).toEqual([...byMean.map((s) => s.meanMs)].sort((a, b) => b - a));
    expect(byMean[0].query).toMatch(SLOW);
  });

  it('--sort, --limit and --min-ms select and order the rows', async () => {
    const calls = await listSlowQueries(db.sql, { ...base, sort: 'calls', limit: 1 });
    expect(calls.lists).toHaveLength(1);
    expect(calls.lists[0].sort).toBe('calls');
    expect(calls.lists[0].statements).toHaveLength(1);
    expect(calls.lists[0].statements[0].query).toMatch(FAST);

    const limited = await listSlowQueries(db.sql, { ...base, sort: 'total', limit: 2 });
    expect(limited.lists[0].statements).toHaveLength(2);
    expect(limited.lists[0].statements[0].query).toMatch(SLOW);

    const heavy = await listSlowQueries(db.sql, { ...base, minMs: 100 });
    for (const list of heavy.lists) {
      expect(list.statements.every((s) => s.meanMs >= 100)).toBe(true);
      expect(find(list.statements, SLOW)).toBeDefined();
      expect(find(list.statements, FAST)).toBeUndefined();
    }
    // shares are of the whole database, not of what the filter left
    expect(find(heavy.lists[0].statements, SLOW)!.share).toBeLessThan(1);
    expect(heavy.databaseStatements).toBeGreaterThan(heavy.lists[0].statements.length);
  });

  it('works as a LOGIN member of bookingdb_monitor and sees other roles\' query text', async () => {
    const monitor = await createLogin(db, 'monitor');
    const sql = pool(monitor.url, 1);
    const report = await listSlowQueries(sql, { ...base, sort: 'mean' });
    const slow = find(report.lists[0].statements, SLOW);
    expect(slow).toBeDefined();
    expect(slow!.roles).toContain(decodeURIComponent(new URL(db.url).username)); // run by the superuser, not the monitor
    expect(report.lists[0].statements.some((s) => s.query.includes('insufficient privilege'))).toBe(false);
  });

  it('the CLI prints a table with the query cut short, and the full text in --json', async () => {
    const long = `select count(*) from booking.tenants where name = 'x' and slug <> 'y' and timezone <> 'z' and id is not null`;
    await db.sql.unsafe(long);
    const table = await runCli(['slow-queries', '--database-url', db.url, '--sort', 'calls', '--limit', '20']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('top 20 by calls');
    expect(table.stdout).toMatch(/│ A +│ 30 +│/);
    expect(table.stdout).toContain('select count(*) from booking.tenants where name = $1 and sl…');
    const json = await runCli(['slow-queries', '--database-url', db.url, '--json', '--sort', 'calls', '--limit', '20']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.lists[0].statements.map((s: SlowStatement) => s.query))
      .toContain('select count(*) from booking.tenants where name = $1 and slug <> $2 and timezone <> $3 and id is not null');
    const bad = await runCli(['slow-queries', '--database-url', db.url, '--sort', 'rows']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--sort must be one of total, mean, calls');
  });

  it('without the extension: exit 4 with the CREATE EXTENSION to run', async () => {
    const other = await createTestDatabase();
    await other.sql`drop extension pg_stat_statements`;
    const error = await listSlowQueries(other.sql, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookingDbError);
    expect((error as BookingDbError).exitCode).toBe(4);
    expect((error as BookingDbError).hint).toContain('CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA ext;');
    const cli = await runCli(['slow-queries', '--database-url', other.url]);
    expect(cli.code).toBe(4);
    expect(cli.stderr).toContain('error: the pg_stat_statements extension is not installed in this database');
    expect(cli.stderr).toContain('CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA ext;');
  });
});
