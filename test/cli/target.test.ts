import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { adminUrl, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { connect } from '../../src/db/connect.js';
import { withDatabase } from '../../src/db/url.js';

/** The URL is decoded once into a target; every connection gets the same session settings. */
describe('database names that need URL escaping', () => {
  const created: string[] = [];
  afterAll(async () => {
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      for (const name of created) await admin.unsafe(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
    } finally {
      await admin.end();
    }
  });

  for (const base of ['my db', 'büro']) {
    it(`deploys to "${base}" (escaped in the URL) fresh, then as a no-op`, async () => {
      const name = `${base} ${uniqueName('bk')}`;
      created.push(name);
      const url = withDatabase(adminUrl(), name);
      expect(url).toContain(encodeURIComponent(name));
      const first = await runCli(['deploy', '--json', '--yes', '--database-url', url]);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, database: name, applied: { databaseCreated: true } });
      const again = await runCli(['deploy', '--json', '--yes', '--database-url', url]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, noop: true, database: name });
      const status = await runCli(['migrate', 'status', '--json', '--database-url', url]);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).pending).toEqual([]);
    });
  }
});

describe('every session bookingdb opens', () => {
  it('has application_name=bookingdb and search_path = pg_catalog, pg_temp, on every pooled connection', async () => {
    const sql = await connect(adminUrl(), { max: 3 });
    try {
      const rows = await Promise.all([1, 2, 3].map(() => sql.begin(async (tx) => {
        await tx`select pg_catalog.pg_sleep(0.05)`;
        return (await tx`select pg_catalog.current_setting('application_name') as app, pg_catalog.current_setting('search_path') as path, pg_catalog.pg_backend_pid() as pid`)[0];
      })));
      expect(new Set(rows.map((r) => r.pid)).size).toBe(3);
      for (const r of rows) expect(r).toMatchObject({ app: 'bookingdb', path: 'pg_catalog, pg_temp' });
    } finally {
      await sql.end();
    }
  });

  it('keeps the search_path even when the URL passes options=-c search_path=public', async () => {
    const sql = await connect(`${adminUrl()}?options=${encodeURIComponent('-c search_path=public -c work_mem=7MB')}`, { max: 1 });
    try {
      const [r] = await sql`select pg_catalog.current_setting('search_path') as path, pg_catalog.current_setting('work_mem') as wm`;
      expect(r).toEqual({ path: 'pg_catalog, pg_temp', wm: '7MB' });
    } finally {
      await sql.end();
    }
  });
});
