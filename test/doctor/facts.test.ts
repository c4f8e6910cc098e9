import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import postgres from 'postgres';
import { adminUrl, createTestDatabase, pool, uniqueName, type TestDatabase } from '../helpers/database.js';
import { createLogin } from '../domain/helpers.js';
import { runCli } from '../helpers/cli.js';
import { collectFacts } from '../../src/doctor/facts.js';
import { recommend } from '../../src/doctor/recommend.js';
import { machineFromFlags } from '../../src/doctor/machine.js';

const options = { appRole: 'bookingdb_app', statementTimeoutMs: 3000 };
const machine = machineFromFlags({ memory: '16GB', cpus: '4', storage: 'ssd' });

describe('doctor collects facts from a real server', () => {
  let db: TestDatabase;
  const md5Role = uniqueName('tmd5');
  // a group role of its own prefix, so a BYPASSRLS app login here is invisible to other
  // files' checks of bookingdb_app running at the same time
  const prefix = uniqueName('tdoc');
  const appLogin = `${prefix}_api`;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      for (const role of [md5Role, appLogin, `${prefix}_app`]) await admin.unsafe(`drop role if exists "${role}"`);
    } finally {
      await admin.end();
    }
  });

  it('as a superuser: server, settings, booking tables, pg_hba rules and verifiers', async () => {
    const facts = await collectFacts(db.sql, options);
    expect(facts.server.versionNum).toBeGreaterThanOrEqual(150000);
    expect(facts.server.database).toBe(db.name);
    expect(facts.server.databaseBytes).toBeGreaterThan(1024 * 1024);
    expect(facts.server.uptimeSeconds).toBeGreaterThan(0);
    expect(facts.server.superuser).toBe(true);
    expect(facts.server.ssl.on).toBe(false); // the test server has no TLS
    expect(facts.settings.shared_buffers).toMatchObject({ unit: '8kB', context: 'postmaster' });
    expect(facts.settings.shared_preload_libraries.setting).toContain('pg_stat_statements');
    expect(facts.settings.password_encryption.setting).toBe('scram-sha-256');
    expect(facts.tables.map((t) => t.name)).toEqual(['booking_allocations', 'bookings']);
    expect(facts.hba.readable).toBe(true);
    expect(facts.hba.rules.length).toBeGreaterThan(0);
    expect(facts.hba.rules.every((r) => typeof r.authMethod === 'string' && r.lineNumber > 0)).toBe(true);
    // the embedded server is initialised with --auth=scram-sha-256 (a container image may differ)
    if (inject('serverKind') === 'embedded') expect(facts.hba.rules.map((r) => r.authMethod)).toEqual(facts.hba.rules.map(() => 'scram-sha-256'));
    expect(facts.md5Verifiers.readable).toBe(true);

    const advice = recommend(facts, machine);
    expect(advice.settings.find((s) => s.name === 'shared_buffers')?.current).toBe('128MB');
    if (inject('serverKind') === 'embedded') expect(advice.findings.filter((f) => f.id.startsWith('hba') || f.id.startsWith('password'))).toEqual([]);
  });

  it('sees per-table reloptions, an MD5 verifier and an app login with BYPASSRLS; the CLI exits 1 until it is fixed', async () => {
    await db.sql`alter table booking.bookings set (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02)`;
    await db.sql.begin(async (tx) => {
      await tx`set local password_encryption = 'md5'`;
      await tx.unsafe(`create role "${md5Role}" login password 'not-a-real-secret-1'`);
    });
    await db.sql.unsafe(`create role "${prefix}_app" nologin`);
    await db.sql.unsafe(`create role "${appLogin}" login bypassrls in role "${prefix}_app"`);
    const app = { name: appLogin };

    const facts = await collectFacts(db.sql, { ...options, appRole: `${prefix}_app` });
    expect(facts.tables.find((t) => t.name === 'bookings')?.reloptions).toEqual({ autovacuum_vacuum_scale_factor: '0.05', autovacuum_analyze_scale_factor: '0.02' });
    expect(facts.md5Verifiers.roles).toContain(md5Role);
    expect(facts.appLogins).toContainEqual({ name: app.name, superuser: false, bypassrls: true });
    const advice = recommend(facts, machine);
    expect(advice.tables.map((t) => `${t.table}:${t.status}`)).toEqual(['booking.booking_allocations:change', 'booking.bookings:ok']);
    expect(advice.findings.find((f) => f.id === 'md5-verifiers')?.message).toContain(md5Role);
    const finding = advice.findings.find((f) => f.id === 'app-login-bypassrls' && f.message.includes(app.name));
    expect(finding).toMatchObject({ severity: 'must-fix', statement: `ALTER ROLE "${app.name}" NOBYPASSRLS;` });

    const autoConf = async () => (await db.sql`select count(*)::int as n from pg_file_settings where sourcefile like '%postgresql.auto.conf'`)[0].n as number;
    const autoBefore = await autoConf();
    const cli = await runCli(['doctor', '--database-url', db.url, '--role-prefix', prefix, '--memory', '16GB', '--cpus', '4', '--storage', 'ssd']);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`must-fix: login ${app.name} (member of ${prefix}_app) has BYPASSRLS`);
    expect(cli.stdout).toContain("ALTER SYSTEM SET shared_buffers = '4GB';");
    expect(cli.stdout).toContain('ALTER TABLE booking.booking_allocations SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);');
    expect(cli.stdout).not.toContain('ALTER TABLE booking.bookings SET');
    expect(cli.stdout).not.toContain('not-a-real-secret');

    await db.sql.unsafe(`alter role "${app.name}" nobypassrls`);
    const json = await runCli(['doctor', '--database-url', db.url, '--role-prefix', prefix, '--json', '--memory', '16GB', '--cpus', '4']);
    // exit 0 once the login is fixed, unless the server itself has a must-fix finding (e.g. trust in pg_hba)
    const serverMustFix = recommend(await collectFacts(db.sql, { ...options, appRole: `${prefix}_app` }), machine).mustFix;
    expect(json.code).toBe(serverMustFix > 0 ? 1 : 0);
    if (inject('serverKind') === 'embedded') expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.ok).toBe(json.code === 0);
    expect(doc.advice.findings.some((f: { message: string }) => f.message.includes(app.name))).toBe(false);
    expect(doc.advice.settings.find((s: { name: string }) => s.name === 'effective_cache_size')).toMatchObject({ recommended: '12GB', statement: "ALTER SYSTEM SET effective_cache_size = '12GB';" });
    expect(doc.server.database).toBe(db.name);
    // the settings were printed, never applied
    const [sb] = await db.sql`select setting from pg_settings where name = 'shared_buffers'`;
    expect(sb.setting).toBe('16384');
    expect(await autoConf()).toBe(autoBefore);
  });

  it('as a LOGIN member of bookingdb_monitor: reads the settings, and says what it could not check', async () => {
    const monitor = await createLogin(db, 'monitor');
    const facts = await collectFacts(pool(monitor.url, 1), options);
    expect(facts.server.superuser).toBe(false);
    expect(facts.server.readsAllSettings).toBe(true); // pg_monitor includes pg_read_all_settings
    expect(facts.settings.shared_preload_libraries.setting).toContain('pg_stat_statements');
    expect(facts.hba).toEqual({ readable: false, rules: [] });
    expect(facts.md5Verifiers).toEqual({ readable: false, roles: [] });
    const ids = recommend(facts, machine).findings.map((f) => `${f.id}:${f.severity}`);
    expect(ids).toContain('hba-unchecked:note');
    expect(ids).toContain('md5-verifiers-unchecked:note');
  });
});
