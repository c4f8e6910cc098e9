import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactSecrets, redactUrl, withDatabase } from '../../src/db/url.js';

describe('URL redaction', () => {
  it('hides the password of every URL in any text', () => {
    expect(redactUrl('postgres://alice:s3cret@db:5432/app')).toBe('postgres://alice:***@db:5432/app');
    expect(redactSecrets('failed: postgresql://bob:p%40ss@h/x')).toBe('failed: postgresql://bob:***@h/x');
    // Two URLs on one line: everything up to the last @ goes (a password may hold @ and spaces).
    expect(redactSecrets('failed: postgresql://bob:p%40ss@h/x and postgres://carol:zz@h2/y')).toBe('failed: postgresql://***@h2/y');
    expect(redactSecrets('a postgres://bob:p1@h/x\nb postgres://carol:zz@h2/y')).toBe('a postgres://bob:***@h/x\nb postgres://carol:***@h2/y');
    expect(redactSecrets('postgres://u@h/db?sslmode=require&password=hunter2')).toBe('postgres://u@h/db?sslmode=require&password=***');
    expect(redactSecrets("ALTER ROLE x PASSWORD 'abc'")).not.toContain('abc');
    expect(redactSecrets('host=h password=hunter2 user=u')).toBe('host=h password=*** user=u');
  });

  it('leaves URLs without a password alone', () => {
    expect(redactUrl('postgres://alice@db/app')).toBe('postgres://alice@db:5432/app');
    expect(redactSecrets('postgres://alice@db/app')).toBe('postgres://alice@db/app');
  });
});

describe('URL parsing', () => {
  it('parses the parts and defaults the port', () => {
    expect(parseDatabaseUrl('postgres://a:b@h/db?sslmode=require')).toMatchObject({ host: 'h', port: 5432, user: 'a', password: 'b', database: 'db', params: { sslmode: 'require' } });
  });

  it('fails on malformed URLs with exit 2 and without echoing the password', () => {
    for (const bad of ['not a url', 'mysql://a:topsecret@h/db', 'postgres://a:topsecret@h:99999/db']) {
      try {
        parseDatabaseUrl(bad);
        expect.unreachable();
      } catch (error) {
        expect((error as { exitCode: number }).exitCode).toBe(2);
        expect((error as Error).message).not.toContain('topsecret');
      }
    }
  });

  it('switches the database and keeps the credentials', () => {
    expect(withDatabase('postgres://a:b@h:5433/one?sslmode=require', 'two')).toBe('postgres://a:b@h:5433/two?sslmode=require');
  });
});

describe('URL parameters and the target', () => {
  it('decodes the database name once', () => {
    expect(parseDatabaseUrl('postgres://a@h/my%20db', {}).database).toBe('my db');
    expect(parseDatabaseUrl('postgres://a@h/b%C3%BCro', {}).database).toBe('büro');
    expect(parseDatabaseUrl(withDatabase('postgres://a:b@h/x', 'my db'), {}).database).toBe('my db');
  });

  it('rejects unknown parameters and invalid values, naming the parameter (exit 2)', () => {
    for (const [q, re] of [['sslmode=bogus', /sslmode/], ['foo=1', /unknown database URL parameter "foo"/], ['connect_timeout=1e3', /connect_timeout/], ['target_session_attrs=x', /target_session_attrs/], ['hostaddr=10.0.0.1', /libpq parameter "hostaddr" is not supported by bookingdb/]] as const) {
      try {
        parseDatabaseUrl(`postgres://a:topsecret@h/db?${q}`, {});
        expect.unreachable();
      } catch (error) {
        expect((error as { exitCode: number }).exitCode).toBe(2);
        expect((error as Error).message).toMatch(re);
        expect((error as Error).message).not.toContain('topsecret');
      }
    }
  });

  it('accepts the libpq parameters that make sense, and takes libpq defaults from the environment', () => {
    const t = parseDatabaseUrl('postgres://a@h/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x&options=-c%20a%3Db&target_session_attrs=read-write&connect_timeout=5', {});
    expect(t).toMatchObject({ sslmode: 'verify-full', params: { sslrootcert: '/ca.pem', application_name: 'x', options: '-c a=b', connect_timeout: '5' } });
    expect(parseDatabaseUrl('postgres://h/db', { PGUSER: 'envuser', PGSSLMODE: 'require', PGPASSWORD: 'pw' })).toMatchObject({ user: 'envuser', sslmode: 'require', password: 'pw' });
    expect(parseDatabaseUrl('postgres://u@h/db', {}).sslmode).toBe('prefer');
    expect(() => parseDatabaseUrl('postgres://u@h/db', { PGSSLMODE: 'nope' })).toThrow(/PGSSLMODE/);
  });
});
