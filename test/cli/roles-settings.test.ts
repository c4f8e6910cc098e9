import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';

/**
 * App logins get a statement_timeout (and idle_in_transaction_session_timeout) by
 * default; passwords are set so that neither pg_stat_statements nor the server log
 * ever holds the SCRAM verifier.
 */
const db = await createTestDatabase();
const scratch: string[] = [];
const made = (d: string) => (scratch.push(d), d);
afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });

function pwFile(): string {
  return join(made(mkdtempSync(join(tmpdir(), 'bkroleset-'))), 'p.pw');
}

function loginUrl(user: string, password: string): string {
  const u = new URL(db.url);
  u.username = user;
  u.password = password;
  return u.toString();
}

async function createApp(extra: string[] = []): Promise<{ name: string; password: string }> {
  const name = uniqueName('app');
  const file = pwFile();
  const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', file, ...extra, '--database-url', db.url]);
  expect(r.code, r.stderr).toBe(0);
  return { name, password: readFileSync(file, 'utf8').trim() };
}

async function roleSettings(name: string): Promise<string[]> {
  const rows = await db.sql`
    select unnest(s.setconfig) as setting from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
     where r.rolname = ${name} and s.setdatabase = 0 order by 1`;
  return rows.map((r) => String(r.setting));
}

describe('statement_timeout for app logins', () => {
  it('roles create app sets statement_timeout=5s by default; the login sees it', async () => {
    const { name, password } = await createApp();
    expect(await roleSettings(name)).toContain('statement_timeout=5s');
    const sql = postgres(loginUrl(name, password), { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql`show statement_timeout`;
      expect(row.statement_timeout).toBe('5s');
      const [idle] = await sql`show idle_in_transaction_session_timeout`;
      expect(idle.idle_in_transaction_session_timeout).toBe('1min');
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('a slow call as the app login is cancelled (57014)', async () => {
    const { name, password } = await createApp(['--statement-timeout', '300ms']);
    expect(await roleSettings(name)).toContain('statement_timeout=300ms');
    const sql = postgres(loginUrl(name, password), { max: 1, onnotice: () => undefined });
    try {
      await expect(sql`select pg_catalog.pg_sleep(5)`).rejects.toMatchObject({ code: '57014' });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('--statement-timeout 0 disables it explicitly; other kinds get no timeout', async () => {
    const { name } = await createApp(['--statement-timeout', '0']);
    expect(await roleSettings(name)).toContain('statement_timeout=0');
    const rep = uniqueName('rep');
    const r = await runCli(['roles', 'create', 'reporting', '--name', rep, '--password-file', pwFile(), '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(await roleSettings(rep)).toEqual([]);
  });

  it('junk durations are exit 2 naming the flag, before any role exists', async () => {
    for (const junk of ['5', '5 s', '1e3ms', '-1s', '5sec', '25h', 'abc', '0x10ms']) {
      const name = uniqueName('junk');
      const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', pwFile(), '--statement-timeout', junk, '--database-url', db.url]);
      expect(r.code, `${junk}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--statement-timeout/);
      expect(await db.sql`select 1 from pg_roles where rolname = ${name}`).toHaveLength(0);
    }
  });
});

describe('the SCRAM verifier reaches neither pg_stat_statements nor the server log', () => {
  it('after roles create and rotate, no statement text and no log line holds the verifier', async () => {
    await db.sql.unsafe(`alter database "${db.name}" set log_statement = 'all'`);
    const logFile = inject('serverLog');
    const logBefore = logFile ? readFileSync(logFile, 'utf8').length : 0;
    const name = uniqueName('scram');
    const file = pwFile();
    const c = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', file, '--database-url', db.url]);
    expect(c.code, c.stderr).toBe(0);
    const [{ rolpassword: first }] = await db.sql`select rolpassword from pg_authid where rolname = ${name}`;
    const r = await runCli(['roles', 'rotate', name, '--password-file', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    const [{ rolpassword: second }] = await db.sql`select rolpassword from pg_authid where rolname = ${name}`;
    expect(String(first)).toMatch(/^SCRAM-SHA-256\$/);
    expect(second).not.toBe(first);

    const stmts = await db.sql`
      select query from ext.pg_stat_statements
       where dbid = (select oid from pg_database where datname = current_database())
         and (query like '%SCRAM-SHA-256$%' or strpos(query, ${String(first)}) > 0 or strpos(query, ${String(second)}) > 0)`;
    expect(stmts.map((s) => s.query)).toEqual([]);
    if (logFile) {
      const log = readFileSync(logFile, 'utf8').slice(logBefore);
      // log_statement = 'all' was in force for the CLI's sessions (so the check below means something)
      expect(log).toMatch(/select rolsuper from pg_catalog\.pg_roles/);
      expect(log).not.toContain(String(first));
      expect(log).not.toContain(String(second));
      // the salt and keys, in case a log line quotes only part of the verifier
      for (const v of [String(first), String(second)]) {
        for (const part of v.split(/[$:]/).filter((p) => p.length > 20)) expect(log).not.toContain(part);
      }
      expect(log).not.toContain(readFileSync(file, 'utf8').trim());
    }
  });
});

describe('the verifier stays out of pg_stat_statements without a superuser too', () => {
  it('a CREATEROLE login (no SET LOCAL of log or tracking settings possible) leaves only $1/$2 in statement text', async () => {
    const admin = uniqueName('roleadmin');
    await db.sql.unsafe(`create role ${admin} login createrole password 'roleadmin-pw-1'`);
    try {
      const name = uniqueName('viaadmin');
      const r = await runCli(['roles', 'create', 'reporting', '--name', name, '--password-file', pwFile(), '--database-url', loginUrl(admin, 'roleadmin-pw-1')]);
      expect(r.code, r.stderr).toBe(0);
      const [{ rolpassword }] = await db.sql`select rolpassword from pg_authid where rolname = ${name}`;
      expect(String(rolpassword)).toMatch(/^SCRAM-SHA-256\$/);
      const stmts = await db.sql`
        select query from ext.pg_stat_statements
         where dbid = (select oid from pg_database where datname = current_database())
           and (query like '%SCRAM-SHA-256$%' or strpos(query, ${String(rolpassword)}) > 0)`;
      expect(stmts.map((s) => s.query)).toEqual([]);
      const called = await db.sql`
        select query from ext.pg_stat_statements
         where dbid = (select oid from pg_database where datname = current_database()) and query like '%pg_temp.bookingdb_set_password($1, $2)%'`;
      expect(called.length).toBeGreaterThan(0);
      await db.sql.unsafe(`drop role ${name}`);
    } finally {
      await db.sql.unsafe(`drop role ${admin}`);
    }
  });
});
