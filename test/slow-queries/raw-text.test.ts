import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { listSlowQueries } from '../../src/slow-queries/slow-queries.js';

const base = { limit: 50, minMs: 0, statementTimeoutMs: 5000 };

/**
 * pg_stat_statements keeps the values in a statement's text when the entry is made at the
 * end of execution rather than at parse time: when it was evicted (the table was full) or
 * reset while the statement ran. CI hit the first on a busy shared server. It also keeps
 * them in utility statements (PostgreSQL 15 normalises none), ALTER ROLE ... PASSWORD
 * included. slow-queries must never print them.
 */
describe('slow-queries when pg_stat_statements holds raw text', () => {
  let db: TestDatabase;
  const role = uniqueName('pw_role');
  beforeAll(async () => {
    db = await createTestDatabase();
    // the entry is removed while the statement sleeps, so its end re-creates it from the raw
    // text (postgres.js runs a query when awaited: execute() starts it now)
    const running = db.sql.unsafe("select pg_catalog.pg_sleep(0.6), 'ann.lee@example.com' as email, 4155550123 as phone, E'it\\'s' as note").simple().execute();
    await new Promise((r) => setTimeout(r, 250));
    await db.sql.unsafe('select ext.pg_stat_statements_reset(0, (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database()), 0)');
    await running;
    await db.sql.unsafe(`create role ${role}`);
    await db.sql.unsafe(`alter role ${role} password 'hunter2-plain-secret'`);
    await db.sql.unsafe(`drop role ${role}`);
  });

  it('the raw entries are there, and no value from them reaches the report', async () => {
    // the premise: PostgreSQL itself kept the values (else this test proves nothing)
    const [raw] = await db.sql.unsafe(`select pg_catalog.count(*) filter (where query like '%ann.lee@example.com%') as sleep,
        pg_catalog.count(*) filter (where query like '%hunter2-plain-secret%') as password
      from ext.pg_stat_statements where dbid = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())`);
    expect(Number(raw.sleep)).toBe(1);
    expect(Number(raw.password)).toBe(1);

    const report = await listSlowQueries(db.sql, base);
    const all = JSON.stringify(report);
    for (const value of ['ann.lee@example.com', '4155550123', "it\\'s", 'hunter2-plain-secret']) expect(all).not.toContain(value);
    const statements = report.lists.flatMap((l) => l.statements);
    const sleep = statements.find((s) => s.query.includes('pg_sleep'))!;
    expect(sleep.query).toBe('select pg_catalog.pg_sleep($1), $2 as email, $3 as phone, $4 as note');
    expect(sleep.calls).toBe(1);
    const alter = statements.find((s) => s.query.startsWith('alter role'))!;
    expect(alter.query).toBe(`alter role ${role} password $1`);
  });

  it('the CLI table and --json print no value either', async () => {
    for (const args of [[], ['--json']]) {
      const out = await runCli(['slow-queries', '--database-url', db.url, '--limit', '50', ...args]);
      expect(out.code).toBe(0);
      expect(out.stdout + out.stderr).not.toMatch(/ann\.lee|4155550123|hunter2/);
    }
  });
});
