import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveSettings } from '../../src/config.js';
import { BookingDbError } from '../../src/errors.js';

describe('settings precedence: flags > environment > config file > defaults', () => {
  const file = { databaseUrl: 'postgres://f@file-host/db', rolePrefix: 'fileprefix', lockWaitSeconds: 7, local: { port: 6000 } };

  it('uses defaults when nothing is set, and then the local cluster (no URL)', () => {
    const s = resolveSettings({}, {}, {});
    expect(s.databaseUrl).toBeUndefined();
    expect(s).toMatchObject({ rolePrefix: 'bookingdb', lockWaitSeconds: 60, lockTimeoutMs: 5000, connectTimeoutSeconds: 10, localPort: 54329 });
  });

  it('takes the config file over defaults', () => {
    const s = resolveSettings({}, {}, file);
    expect(s).toMatchObject({ databaseUrl: file.databaseUrl, databaseUrlSource: 'config', rolePrefix: 'fileprefix', lockWaitSeconds: 7, localPort: 6000 });
  });

  it('takes the environment over the config file, DATABASE_URL before the PG* variables', () => {
    const env = { DATABASE_URL: 'postgres://e@env-host/db', PGHOST: 'pg-host', BOOKINGDB_LOCK_WAIT: '9' };
    const s = resolveSettings({}, env, file);
    expect(s).toMatchObject({ databaseUrl: env.DATABASE_URL, databaseUrlSource: 'DATABASE_URL', lockWaitSeconds: 9 });
    const libpq = resolveSettings({}, { PGHOST: 'pg-host', PGUSER: 'alice', PGDATABASE: 'shop' }, file);
    expect(libpq.databaseUrlSource).toBe('libpq');
    expect(libpq.databaseUrl).toBe('postgres://alice@pg-host:5432/shop');
  });

  it('takes flags over everything', () => {
    const s = resolveSettings({ databaseUrl: 'postgres://x@flag-host/db', lockWait: '3', rolePrefix: 'flagp' }, { DATABASE_URL: 'postgres://e@h/db', BOOKINGDB_LOCK_WAIT: '9' }, file);
    expect(s).toMatchObject({ databaseUrl: 'postgres://x@flag-host/db', databaseUrlSource: 'flag', lockWaitSeconds: 3, rolePrefix: 'flagp' });
  });

  it('rejects bad values with a usage error (exit 2)', () => {
    for (const bad of [() => resolveSettings({ lockWait: 'soon' }, {}, {}), () => resolveSettings({ rolePrefix: 'Bad-Prefix' }, {}, {}), () => resolveSettings({ port: '70000' }, {}, {})]) {
      try {
        bad();
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(BookingDbError);
        expect((error as BookingDbError).exitCode).toBe(2);
      }
    }
  });

  it('reads bookingdb.config.json, rejects unknown keys, and requires an explicit --config to exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bkcfg-'));
    expect(loadConfigFile(undefined, dir).file).toEqual({});
    writeFileSync(join(dir, 'bookingdb.config.json'), JSON.stringify({ rolePrefix: 'acme' }));
    expect(loadConfigFile(undefined, dir).file).toEqual({ rolePrefix: 'acme' });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ databaseURL: 'x' }));
    expect(() => loadConfigFile('bad.json', dir)).toThrow(/unknown key "databaseURL"/);
    expect(() => loadConfigFile('missing.json', dir)).toThrow(/config file not found/);
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(() => loadConfigFile('broken.json', dir)).toThrow(/not valid JSON/);
  });
});
