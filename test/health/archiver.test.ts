import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogin } from '../domain/helpers.js';
import { createTestDatabase } from '../helpers/database.js';
import { startStandby, type Standby } from '../replica/standby.js';
import { check, until } from './helpers.js';

// The archiver check driven for real: archive_mode needs a server restart, so this file
// runs its own stand-alone copy of the test cluster (pg_basebackup without -R) with
// archive_mode=on, sets an archive_command that fails, then fixes the command and sees the
// check return to OK. The shared test cluster keeps archive_mode off (the check says so).
const db = await createTestDatabase();
const login = await createLogin(db, 'monitor');
let copy: Standby;
let admin: postgres.Sql;
let monitor: postgres.Sql;

beforeAll(async () => {
  copy = await startStandby(db.url, { standby: false, settings: ['archive_mode=on'] });
  admin = postgres(copy.url(db.name), { max: 1, onnotice: () => undefined });
  monitor = postgres(copy.url(db.name, login), { max: 1, onnotice: () => undefined, connection: { search_path: 'pg_catalog, pg_temp' } });
}, 120_000);

afterAll(async () => {
  await monitor?.end({ timeout: 5 });
  await admin?.end({ timeout: 5 });
  await copy?.stop();
});

const failed = async () => Number((await admin`select failed_count from pg_stat_archiver`)[0].failed_count);

describe('health-check archiver', () => {
  it('is OK with archive_mode off (the shared test cluster)', async () => {
    const shared = postgres(login.url, { max: 1, onnotice: () => undefined });
    try {
      const r = await check(shared, 'archiver');
      expect([r.status, r.detail]).toEqual(['ok', 'archive_mode is off']);
    } finally {
      await shared.end({ timeout: 5 });
    }
  });

  it('a failing archive_command is CRITICAL naming the WAL file; once the command works it is OK again', async () => {
    // archive_command through ALTER SYSTEM, not -c: a command-line setting would beat the
    // fix below, which goes through postgresql.auto.conf as an operator's would
    await admin`alter system set archive_command = 'false'`;
    await admin`select pg_reload_conf()`;
    await admin`create table if not exists ops.archiver_probe (x int)`;
    await admin`insert into ops.archiver_probe select generate_series(1, 1000)`;
    await admin`select pg_switch_wal()`;
    await until(async () => (await failed()) > 0, 30_000);
    const bad = await check(monitor, 'archiver');
    expect(bad.status).toBe('critical');
    expect(bad.value).toBe(1);
    expect(bad.detail).toMatch(/ failed; .*last failed [0-9A-F]{24} at /);
    expect(bad.remedy).toContain('archive_command');

    await admin`alter system set archive_command = 'true'`;
    await admin`select pg_reload_conf()`;
    await until(async () => (await admin`select last_archived_time > coalesce(last_failed_time, '-infinity') as ok from pg_stat_archiver`)[0].ok === true, 90_000);
    const good = await check(monitor, 'archiver');
    expect([good.status, good.value]).toEqual(['ok', 0]);
  }, 120_000);
});
