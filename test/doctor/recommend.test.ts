import { describe, expect, it } from 'vitest';
import type { Facts, SettingFact } from '../../src/doctor/facts.js';
import { machineFromFlags, type Machine } from '../../src/doctor/machine.js';
import { recommend } from '../../src/doctor/recommend.js';
import { formatBytes, formatMs, humanBytes, parseMemory, settingInBaseUnit } from '../../src/doctor/units.js';
import { BookingDbError } from '../../src/errors.js';

const GB = 1024 ** 3;

/** PostgreSQL 15's defaults as pg_settings reports them: [setting, unit, context]. */
const DEFAULTS: Record<string, [string, string | null, string]> = {
  shared_buffers: ['16384', '8kB', 'postmaster'],
  effective_cache_size: ['524288', '8kB', 'user'],
  work_mem: ['4096', 'kB', 'user'],
  maintenance_work_mem: ['65536', 'kB', 'user'],
  max_connections: ['100', null, 'postmaster'],
  superuser_reserved_connections: ['3', null, 'postmaster'],
  random_page_cost: ['4', null, 'user'],
  effective_io_concurrency: ['1', null, 'user'],
  checkpoint_timeout: ['300', 's', 'sighup'],
  max_wal_size: ['1024', 'MB', 'sighup'],
  min_wal_size: ['80', 'MB', 'sighup'],
  checkpoint_completion_target: ['0.9', null, 'sighup'],
  wal_compression: ['off', null, 'superuser'],
  wal_level: ['replica', null, 'postmaster'],
  autovacuum: ['on', null, 'sighup'],
  autovacuum_vacuum_scale_factor: ['0.2', null, 'sighup'],
  autovacuum_analyze_scale_factor: ['0.1', null, 'sighup'],
  shared_preload_libraries: ['pg_stat_statements', null, 'postmaster'],
  password_encryption: ['scram-sha-256', null, 'user'],
  ssl: ['off', null, 'sighup'],
};

function facts(overrides: { settings?: Record<string, string | null>; patch?: Partial<Facts>; server?: Partial<Facts['server']> } = {}): Facts {
  const settings: Record<string, SettingFact> = {};
  for (const [name, [setting, unit, context]] of Object.entries(DEFAULTS)) {
    const value = overrides.settings && name in overrides.settings ? overrides.settings[name] : setting;
    if (value === null) continue; // unreadable
    settings[name] = { name, setting: value, unit, vartype: 'string', context, source: 'default', pendingRestart: false };
  }
  return {
    server: {
      version: '15.18', versionNum: 150018, startedAt: '2026-01-01T00:00:00.000Z', uptimeSeconds: 3600, database: 'booking', databaseBytes: 10 * GB,
      role: 'postgres', superuser: true, readsAllSettings: true, serverAddr: null, ssl: { on: false, version: null, cipher: null }, clientConnections: 3,
      ...overrides.server,
    },
    settings,
    tables: [
      { name: 'booking_allocations', reloptions: {}, estimatedRows: 1_000_000, deadRows: 0 },
      { name: 'bookings', reloptions: {}, estimatedRows: 1_000_000, deadRows: 0 },
    ],
    appLogins: [{ name: 'booking_api', superuser: false, bypassrls: false }],
    appRole: 'bookingdb_app',
    hba: { readable: true, rules: [{ lineNumber: 90, type: 'host', databases: ['all'], users: ['all'], address: '0.0.0.0', authMethod: 'scram-sha-256', error: null }] },
    md5Verifiers: { readable: true, roles: [] },
    ...overrides.patch,
  };
}

const box: Machine = { memoryBytes: 16 * GB, cpus: 4, storage: 'ssd', connections: null, assumed: [] };

function setting(advice: ReturnType<typeof recommend>, name: string) {
  const s = advice.settings.find((x) => x.name === name);
  if (!s) throw new Error(`no advice for ${name}`);
  return s;
}

describe('recommend (pure)', () => {
  it('sizes memory, planner, checkpoint and WAL settings for 16GB / 4 CPUs / SSD, with ALTER SYSTEM lines', () => {
    const a = recommend(facts(), box);
    expect(setting(a, 'shared_buffers')).toMatchObject({ current: '128MB', recommended: '4GB', status: 'change', restart: true, statement: "ALTER SYSTEM SET shared_buffers = '4GB';" });
    expect(setting(a, 'effective_cache_size')).toMatchObject({ current: '4GB', recommended: '12GB', restart: false });
    expect(setting(a, 'maintenance_work_mem').recommended).toBe('1GB');
    expect(setting(a, 'work_mem').recommended).toBe('40MB'); // (16GB - 4GB) / (100 x 3)
    expect(setting(a, 'random_page_cost')).toMatchObject({ recommended: '1.1', statement: "ALTER SYSTEM SET random_page_cost = '1.1';" });
    expect(setting(a, 'effective_io_concurrency').recommended).toBe('200');
    expect(setting(a, 'checkpoint_timeout')).toMatchObject({ current: '5min', recommended: '15min', status: 'change' });
    expect(setting(a, 'max_wal_size')).toMatchObject({ current: '1GB', recommended: '4GB' });
    expect(setting(a, 'checkpoint_completion_target').status).toBe('ok');
    expect(setting(a, 'wal_compression').status).toBe('change');
    expect(setting(a, 'wal_level').status).toBe('ok');
    expect(setting(a, 'shared_preload_libraries').status).toBe('ok');
    expect(a.settings.every((s) => s.reason.length > 0 && s.source.startsWith('https://'))).toBe(true);
    expect(a.statements).toContain("ALTER SYSTEM SET shared_buffers = '4GB';");
    expect(a.statements.indexOf('SELECT pg_catalog.pg_reload_conf();')).toBeGreaterThan(a.statements.indexOf("ALTER SYSTEM SET wal_compression = 'on';"));
    expect(a.restartFor).toEqual(['shared_buffers']);
    expect(a.mustFix).toBe(0);
    expect(a.settings.find((s) => s.name === 'max_connections')).toBeUndefined(); // not sized without --connections
  });

  it('a server already tuned that way gets no ALTER lines at all', () => {
    const tuned = facts({
      settings: {
        shared_buffers: String((4 * GB) / 8192), effective_cache_size: String((12 * GB) / 8192), work_mem: String(40 * 1024), maintenance_work_mem: String(1024 * 1024),
        random_page_cost: '1.1', effective_io_concurrency: '200', checkpoint_timeout: '900', max_wal_size: '4096', min_wal_size: '1024', wal_compression: 'on',
      },
      patch: { tables: ['booking_allocations', 'bookings'].map((name) => ({ name, reloptions: { autovacuum_vacuum_scale_factor: '0.05', autovacuum_analyze_scale_factor: '0.02' }, estimatedRows: 10, deadRows: 0 })) },
    });
    const a = recommend(tuned, box);
    expect(a.settings.filter((s) => s.status !== 'ok').map((s) => s.name)).toEqual([]);
    expect(a.tables.every((t) => t.status === 'ok')).toBe(true);
    expect(a.statements).toEqual([]);
  });

  it('HDD keeps random_page_cost 4 and asks for effective_io_concurrency 2', () => {
    const a = recommend(facts(), { ...box, storage: 'hdd' });
    expect(setting(a, 'random_page_cost')).toMatchObject({ recommended: '4', status: 'ok' });
    expect(setting(a, 'effective_io_concurrency')).toMatchObject({ recommended: '2', status: 'change' });
  });

  it('work_mem stays within 4MB..64MB', () => {
    expect(setting(recommend(facts(), { ...box, memoryBytes: 1 * GB }), 'work_mem').recommended).toBe('4MB');
    expect(setting(recommend(facts(), { ...box, memoryBytes: 256 * GB }), 'work_mem').recommended).toBe('64MB');
  });

  it('max_connections against pooling: many clients go through PgBouncer, few connect directly', () => {
    const many = recommend(facts(), { ...box, connections: 400 });
    expect(setting(many, 'max_connections')).toMatchObject({ current: '100', recommended: '29', status: 'change', restart: true }); // pool 2x4+1 plus 20 direct
    expect(setting(many, 'max_connections').reason).toContain('PgBouncer');
    expect(many.pooling.join('\n')).toContain('default_pool_size = 9 and max_client_conn >= 400');
    const few = recommend(facts(), { ...box, connections: 12 });
    expect(setting(few, 'max_connections')).toMatchObject({ recommended: '32' });
    expect(setting(few, 'max_connections').reason).not.toContain('PgBouncer');
    // not given: left alone, but 100 on 4 cores is worth a pooler
    expect(recommend(facts(), box).pooling[0]).toMatch(/^max_connections is 100 on 4 cores/);
    expect(recommend(facts(), box).pooling.join('\n')).toContain('transaction mode works');
  });

  it('adds pg_stat_statements to the preloaded libraries, as a list; unknown when unreadable', () => {
    const a = recommend(facts({ settings: { shared_preload_libraries: 'auto_explain' } }), box);
    expect(setting(a, 'shared_preload_libraries')).toMatchObject({ status: 'change', restart: true, statement: "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain', 'pg_stat_statements';" });
    expect(a.restartFor).toContain('shared_preload_libraries');
    const hidden = recommend(facts({ settings: { shared_preload_libraries: null }, server: { readsAllSettings: false, role: 'watcher' } }), box);
    expect(setting(hidden, 'shared_preload_libraries')).toMatchObject({ status: 'unknown', current: null, statement: null });
    expect(hidden.notes.join('\n')).toContain('watcher cannot read superuser-only settings');
  });

  it('per-table autovacuum for bookings and booking_allocations, applied under a lock_timeout', () => {
    const a = recommend(facts(), box);
    expect(a.tables.map((t) => [t.table, t.status])).toEqual([['booking.booking_allocations', 'change'], ['booking.bookings', 'change']]);
    expect(a.tables[1].reason).toContain('200,000 of ~1,000,000 rows');
    const i = a.statements.indexOf("SET lock_timeout = '2s';");
    expect(i).toBeGreaterThan(-1);
    expect(a.statements[i + 2]).toBe('ALTER TABLE booking.bookings SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);');
  });

  it('security: app logins that bypass RLS, weak auth methods, MD5 verifiers and hashing are findings; must-fix ones count', () => {
    const a = recommend(facts({
      settings: { password_encryption: 'md5' },
      patch: {
        appLogins: [{ name: 'api', superuser: true, bypassrls: false }, { name: 'Odd"Name', superuser: false, bypassrls: true }],
        hba: { readable: true, rules: [
          { lineNumber: 1, type: 'local', databases: ['all'], users: ['all'], address: null, authMethod: 'trust', error: null },
          { lineNumber: 2, type: 'host', databases: ['all'], users: ['all'], address: '10.0.0.0', authMethod: 'password', error: null },
          { lineNumber: 3, type: 'hostssl', databases: ['booking'], users: ['all'], address: '10.0.0.0', authMethod: 'md5', error: null },
          { lineNumber: 4, type: 'host', databases: ['all'], users: ['all'], address: '::1', authMethod: 'scram-sha-256', error: null },
        ] },
        md5Verifiers: { readable: true, roles: ['legacy_app'] },
      },
    }), box);
    const by = (id: string) => a.findings.filter((f) => f.id === id);
    expect(by('app-login-superuser')[0]).toMatchObject({ severity: 'must-fix', statement: 'ALTER ROLE "api" NOSUPERUSER;' });
    expect(by('app-login-bypassrls')[0]).toMatchObject({ severity: 'must-fix', statement: 'ALTER ROLE "Odd""Name" NOBYPASSRLS;' });
    expect(by('hba-trust')[0].message).toContain('pg_hba.conf line 1');
    expect(by('hba-password')[0].severity).toBe('must-fix');
    expect(by('hba-md5')[0].severity).toBe('should-fix');
    expect(a.findings.some((f) => f.message.includes('line 4'))).toBe(false);
    expect(by('md5-verifiers')[0].message).toContain('legacy_app');
    expect(by('password-encryption')[0].statement).toBe("ALTER SYSTEM SET password_encryption = 'scram-sha-256';");
    expect(a.mustFix).toBe(5);
    expect(a.statements).toContain('ALTER ROLE "api" NOSUPERUSER;');
    expect(a.statements.indexOf("ALTER SYSTEM SET password_encryption = 'scram-sha-256';")).toBeLessThan(a.statements.indexOf('SELECT pg_catalog.pg_reload_conf();'));
  });

  it('says what it could not check, and flags an unencrypted remote connection only', () => {
    const a = recommend(facts({ patch: { hba: { readable: false, rules: [] }, md5Verifiers: { readable: false, roles: [] } }, server: { serverAddr: '10.1.2.3', superuser: false } }), box);
    expect(a.findings.map((f) => `${f.id}:${f.severity}`)).toEqual(['hba-unchecked:note', 'md5-verifiers-unchecked:note', 'connection-not-encrypted:should-fix']);
    expect(a.mustFix).toBe(0);
    expect(recommend(facts({ server: { serverAddr: '127.0.0.1' } }), box).findings).toEqual([]);
    const tls = recommend(facts({ server: { serverAddr: '10.1.2.3', ssl: { on: true, version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } } }), box);
    expect(tls.findings).toEqual([]);
  });

  it('notes when it sized for this host rather than the server', () => {
    const m = machineFromFlags({}, { memoryBytes: 8 * GB, cpus: 2 });
    expect(m).toMatchObject({ memoryBytes: 8 * GB, cpus: 2, storage: 'ssd', connections: null, assumed: ['memory', 'cpus', 'storage'] });
    const a = recommend(facts({ server: { serverAddr: '10.1.2.3' } }), m);
    expect(a.notes[0]).toBe('sized for this machine (8GB, 2 CPUs) but the server is at 10.1.2.3: pass --memory and --cpus for the database server\'s own');
    expect(a.notes[1]).toContain('storage assumed ssd');
    expect(recommend(facts(), box).notes).toEqual([]);
  });
});

describe('machine flags and units', () => {
  it('parses the machine flags, and rejects bad ones with exit 2', () => {
    expect(machineFromFlags({ memory: '16GB', cpus: '4', storage: 'hdd', connections: '400' })).toEqual({ memoryBytes: 16 * GB, cpus: 4, storage: 'hdd', connections: 400, assumed: [] });
    for (const flags of [{ memory: '16 apples' }, { memory: '100MB' }, { cpus: '0' }, { cpus: '2.5' }, { storage: 'floppy' }, { connections: '-1' }]) {
      const e = (() => { try { machineFromFlags(flags); } catch (error) { return error; } })();
      expect(e).toBeInstanceOf(BookingDbError);
      expect((e as BookingDbError).exitCode).toBe(2);
    }
  });

  it('converts between pg_settings units and postgresql.conf text', () => {
    expect(parseMemory('16GB')).toBe(16 * GB);
    expect(parseMemory('16g')).toBe(16 * GB);
    expect(parseMemory('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseMemory('1.5TB')).toBe(1.5 * 1024 * GB);
    expect(settingInBaseUnit('16384', '8kB')).toEqual({ kind: 'bytes', value: 128 * 1024 ** 2 });
    expect(settingInBaseUnit('300', 's')).toEqual({ kind: 'ms', value: 300_000 });
    expect(settingInBaseUnit('4', null)).toBeNull();
    expect(formatBytes(4 * GB)).toBe('4GB');
    expect(formatBytes(6026.7 * 1024 ** 2)).toBe('6026MB');
    expect(formatBytes(64 * 1024)).toBe('64kB');
    expect(formatMs(900_000)).toBe('15min');
    expect(formatMs(1500)).toBe('1500ms');
    expect(humanBytes(23.5 * GB)).toBe('23.5GB');
  });
});
