import { describe, expect, it } from 'vitest';
import { matchPgpass, splitPgpassLine } from '../../src/db/pgpass.js';
import { parseServiceFile } from '../../src/db/params.js';

describe('the password file, as libpq reads it', () => {
  const q = { host: 'db.example.com', port: 5432, database: 'booking', user: 'deployer' };

  it('splits on unescaped colons; \\: and \\\\ are literal', () => {
    expect(splitPgpassLine('h:5432:db:u:pa\\:ss\\\\word:with:colons')).toEqual(['h', '5432', 'db', 'u', 'pa:ss\\word:with:colons']);
    expect(splitPgpassLine('too:few:fields')).toBeUndefined();
  });

  it('matches * wildcards, skips comments, and the first match wins', () => {
    const text = ['# db.example.com:*:*:*:commented', 'other:*:*:*:no', 'db.example.com:5433:*:*:wrong-port', '*:5432:booking:deployer:first', '*:*:*:*:second'].join('\n');
    expect(matchPgpass(text, q)).toBe('first');
    expect(matchPgpass(text, { ...q, database: 'other' })).toBe('second');
    expect(matchPgpass('db\\:x:*:*:*:esc', { ...q, host: 'db:x' })).toBe('esc');
    expect(matchPgpass('localhost:*:*:*:sock', { ...q, host: '/var/run/postgresql' })).toBe('sock');
    expect(matchPgpass('', q)).toBeUndefined();
  });
});

describe('pg_service.conf', () => {
  it('reads one section and rejects unknown keys naming file and line', () => {
    const text = '# services\n[a]\nhost=h1\nport=6000\n\n[b]\nhost=h2\ndbname=x\n';
    expect(parseServiceFile(text, 'f', 'b')).toEqual({ host: 'h2', dbname: 'x' });
    expect(parseServiceFile(text, 'f', 'zz')).toBeUndefined();
    expect(() => parseServiceFile('[a]\nhots=h\n', 'svc.conf', 'a')).toThrow(/unknown parameter "hots" in service file svc.conf, line 2/);
    expect(() => parseServiceFile('[a]\nsslmode=sometimes\n', 'svc.conf', 'a')).toThrow(/sslmode.*must be one of/);
  });
});
