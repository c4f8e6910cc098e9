import { scratchDir } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveSettings } from '../../src/config.js';
import { BookingDbError } from '../../src/errors.js';
import { configJsonSchema, validateConfig } from '../../src/config/schema.js';

async function configError(content: unknown): Promise<BookingDbError> {
  const dir = scratchDir();
  writeFileSync(join(dir, 'c.json'), JSON.stringify(content));
  try {
    await loadConfigFile('c.json', dir);
  } catch (error) {
    expect(error).toBeInstanceOf(BookingDbError);
    expect((error as BookingDbError).exitCode).toBe(2);
    expect((error as Error).message.startsWith(join(dir, 'c.json'))).toBe(true);
    return error as BookingDbError;
  }
  throw new Error(`accepted ${JSON.stringify(content)}`);
}

function usage(fn: () => unknown): BookingDbError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BookingDbError);
    expect((error as BookingDbError).exitCode).toBe(2);
    return error as BookingDbError;
  }
  throw new Error('accepted');
}

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

  it('reads bookingdb.config.json, rejects unknown keys, and requires an explicit --config to exist', async () => {
    const dir = scratchDir();
    expect((await loadConfigFile(undefined, dir)).file).toEqual({});
    writeFileSync(join(dir, 'bookingdb.config.json'), JSON.stringify({ rolePrefix: 'acme' }));
    expect((await loadConfigFile(undefined, dir)).file).toEqual({ rolePrefix: 'acme' });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ databaseURL: 'x' }));
    await expect(loadConfigFile('bad.json', dir)).rejects.toThrow(/unknown key "databaseURL"/);
    await expect(loadConfigFile('missing.json', dir)).rejects.toThrow(/config file not found/);
    writeFileSync(join(dir, 'broken.json'), '{');
    await expect(loadConfigFile('broken.json', dir)).rejects.toThrow(/not valid JSON/);
  });
});

describe('one schema for the config file (zod), strict at every level', () => {
  it('names the key path of an unknown nested key', async () => {
    const e = await configError({ local: { prot: 1 } });
    expect(e.message).toMatch(/unknown key "local\.prot"/);
    expect(e.hint).toBe('known keys in local: port, dir');
    expect((await configError({ roles: { appStatementTimout: '5s' } })).message).toMatch(/unknown key "roles\.appStatementTimout"/);
  });

  it('names the key and the range of a bad value (1e21, 0, a string)', async () => {
    expect((await configError({ lockTimeoutMs: 1e21 })).message).toMatch(/: lockTimeoutMs must be a whole number from 1 to 600000 \(ms\), got 1e\+21/);
    expect((await configError({ lockTimeoutMs: 0 })).message).toMatch(/lockTimeoutMs must be a whole number from 1 to 600000/);
    expect((await configError({ lockWaitSeconds: 'soon' })).message).toMatch(/lockWaitSeconds must be a whole number from 0 to 86400 \(seconds\), got "soon"/);
    expect((await configError({ local: { port: 70000 } })).message).toMatch(/local\.port must be a whole number from 1 to 65535, got 70000/);
    expect((await configError({ rolePrefix: 'pg' })).message).toMatch(/rolePrefix: PostgreSQL reserves role names starting with pg_/);
    // the same grammar as `roles create --statement-timeout`: a bare number (ms to PostgreSQL) is refused
    expect((await configError({ roles: { appStatementTimeout: '500' } })).message).toMatch(/roles\.appStatementTimeout: must be a duration such as "5s"/);
    expect((await configError({ roles: { appStatementTimeout: '25h' } })).message).toMatch(/roles\.appStatementTimeout: must be a duration/);
    expect(validateConfig({ roles: { appStatementTimeout: '0' } }).ok).toBe(true);
  });

  it('keeps $schema, and exports a JSON Schema that forbids unknown keys', () => {
    expect(validateConfig({ $schema: './schema.json', roles: { appStatementTimeout: '2min' } }).ok).toBe(true);
    const schema = configJsonSchema() as { properties: Record<string, { additionalProperties?: boolean }>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.local.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['databaseUrl', 'rolePrefix', 'lockTimeoutMs', 'local', 'roles']));
  });
});

describe('values are validated up front and name their source', () => {
  it('flags: --lock-timeout 0 does not disable lock_timeout; 1e3 and 0x10 are not numbers', () => {
    expect(usage(() => resolveSettings({ lockTimeout: '0' }, {}, {})).message).toBe('--lock-timeout must be a whole number from 1 to 600000 (ms), got "0"');
    expect(usage(() => resolveSettings({ lockWait: '1e3' }, {}, {})).message).toMatch(/^--lock-wait must be a whole number from 0 to 86400/);
    expect(usage(() => resolveSettings({ connectTimeout: '0x10' }, {}, {})).message).toMatch(/^--connect-timeout must be a whole number from 1 to 3600/);
    expect(usage(() => resolveSettings({ port: '0' }, {}, {})).message).toMatch(/^--port must be a whole number from 1 to 65535/);
  });

  it('environment: the variable is named, never a flag', () => {
    const e = usage(() => resolveSettings({}, { BOOKINGDB_LOCK_WAIT: 'soon' }, {}));
    expect(e.message).toBe('BOOKINGDB_LOCK_WAIT must be a whole number from 0 to 86400 (seconds), got "soon"');
    expect(e.hint).toMatch(/BOOKINGDB_LOCK_WAIT/);
    expect(usage(() => resolveSettings({}, { BOOKINGDB_APP_STATEMENT_TIMEOUT: 'forever' }, {})).message).toMatch(/BOOKINGDB_APP_STATEMENT_TIMEOUT/);
  });

  it('config values given to resolveSettings are named by file and key', () => {
    expect(usage(() => resolveSettings({}, {}, { lockTimeoutMs: 1e21 }, '/etc/x.json')).message).toMatch(/^\/etc\/x\.json: lockTimeoutMs must be/);
  });

  it('role prefixes PostgreSQL reserves (pg, pg_*) are refused up front', () => {
    for (const prefix of ['pg', 'pg_x']) {
      const e = usage(() => resolveSettings({ rolePrefix: prefix }, {}, {}));
      expect(e.message).toBe(`invalid --role-prefix "${prefix}"`);
      expect(e.hint).toMatch(/reserves role names starting with pg_/);
    }
    expect(resolveSettings({ rolePrefix: 'pgshop' }, {}, {}).rolePrefix).toBe('pgshop');
  });

  it('roles.appStatementTimeout: default 5s, from the file or the environment', () => {
    expect(resolveSettings({}, {}, {}).appStatementTimeout).toBe('5s');
    expect(resolveSettings({}, {}, { roles: { appStatementTimeout: '2min' } }).appStatementTimeout).toBe('2min');
    expect(resolveSettings({}, { BOOKINGDB_APP_STATEMENT_TIMEOUT: '750ms' }, { roles: { appStatementTimeout: '2min' } }).appStatementTimeout).toBe('750ms');
  });
});
