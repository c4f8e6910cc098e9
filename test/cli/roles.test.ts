import { scratchDir } from '../helpers/cli.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { canLogin, createTestDatabase, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';

describe('roles create / rotate / list', () => {
  it('creates a LOGIN role with a generated password that reaches no output, log or pg_stat_statements', async () => {
    const db = await createTestDatabase();
    await db.sql.unsafe(`alter database "${db.name}" set log_statement = 'all'`);
    const dir = scratchDir();
    const name = uniqueName('api');
    const pwFile = join(dir, 'api.pw');
    const logBefore = inject('serverLog') ? readFileSync(inject('serverLog'), 'utf8').length : 0;

    const created = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', pwFile, '--database-url', db.url]);
    expect(created.code, created.stderr).toBe(0);
    expect(statSync(pwFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(pwFile, 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.stdout + created.stderr).not.toContain(password);
    expect(await canLogin(db.url, name, password)).toBe(true);

    const listed = await runCli(['roles', 'list', '--json', '--database-url', db.url]);
    expect(JSON.parse(listed.stdout).roles).toContainEqual(expect.objectContaining({ name, groups: ['bookingdb_app'], canLogin: true }));

    const rotated = await runCli(['roles', 'rotate', name, '--password-file', pwFile, '--database-url', db.url]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newPassword = readFileSync(pwFile, 'utf8').trim();
    expect(newPassword).not.toBe(password);
    expect(await canLogin(db.url, name, password)).toBe(false);
    expect(await canLogin(db.url, name, newPassword)).toBe(true);

    const [stmts] = await db.sql`select count(*)::int as n from ext.pg_stat_statements where query like ${'%' + password + '%'} or query like ${'%' + newPassword + '%'}`;
    expect(stmts.n).toBe(0);
    // nor the SCRAM verifier (what CREATE/ALTER ROLE ... PASSWORD would carry as text)
    const verifiers = await db.sql`select query from ext.pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database()) and query like '%SCRAM-SHA-256$%'`;
    expect(verifiers.map((v) => v.query)).toEqual([]);
    if (inject('serverLog')) {
      const log = readFileSync(inject('serverLog'), 'utf8').slice(logBefore);
      expect(log).not.toContain(password);
      expect(log).not.toContain(newPassword);
    }
  });

  it('refuses to print a password to a pipe and creates nothing', async () => {
    const db = await createTestDatabase();
    const name = uniqueName('piped');
    const r = await runCli(['roles', 'create', 'reporting', '--name', name, '--database-url', db.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-file/);
    expect(await db.sql`select 1 from pg_roles where rolname = ${name}`).toHaveLength(0);
  });

  it('rejects an unknown kind, a bad name, and rotating a role bookingdb did not make', async () => {
    const db = await createTestDatabase();
    const dir = scratchDir();
    const pw = join(dir, 'x.pw');
    const kind = await runCli(['roles', 'create', 'owner', '--name', uniqueName('x'), '--password-file', pw, '--database-url', db.url]);
    expect(kind.code).toBe(2);
    const bad = await runCli(['roles', 'create', 'app', '--name', 'Robert"; drop', '--password-file', pw, '--database-url', db.url]);
    expect(bad.code).toBe(2);
    const rot = await runCli(['roles', 'rotate', 'postgres', '--password-file', pw, '--database-url', db.url]);
    expect(rot.code).toBe(2);
    expect(existsSync(pw)).toBe(false);
  });
});
