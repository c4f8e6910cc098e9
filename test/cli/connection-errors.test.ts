import { scratchDir } from '../helpers/cli.js';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adminUrl, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { describeConnectionError } from '../../src/db/connect.js';
import { withDatabase } from '../../src/db/url.js';

const SECRET = 'Sup3rSecretPw';

function expectNoSecret(r: { stdout: string; stderr: string }, secret = SECRET) {
  expect(r.stdout).not.toContain(secret);
  expect(r.stderr).not.toContain(secret);
}

describe('connection failures: one clear line, exit 3, no password', () => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => { sockets.push(s); }); // accepts, never answers
  afterAll(() => new Promise<void>((r) => { sockets.forEach((s) => s.destroy()); silent.close(() => r()); }));

  it('host not found', async () => {
    const r = await runCli(['migrate', 'status', '--database-url', `postgres://app:${SECRET}@no-such-host.invalid:5432/db`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('host not found: no-such-host.invalid');
    expectNoSecret(r);
  });

  it('connection refused', async () => {
    const r = await runCli(['deploy', '--database-url', `postgres://app:${SECRET}@127.0.0.1:1/db`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('connection refused at 127.0.0.1:1');
    expectNoSecret(r);
  });

  it('timeout, honouring --connect-timeout', async () => {
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const r = await runCli(['migrate', 'status', '--connect-timeout', '1', '--database-url', `postgres://app:${SECRET}@127.0.0.1:${port}/db`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`timed out connecting to 127.0.0.1:${port}`);
    expectNoSecret(r);
  });

  it('authentication failed', async () => {
    const url = new URL(adminUrl());
    url.password = SECRET;
    const r = await runCli(['migrate', 'status', '--database-url', url.toString()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/authentication failed for user "postgres"/);
    expectNoSecret(r);
  });

  it('database does not exist', async () => {
    const url = withDatabase(adminUrl(), uniqueName('nope'));
    const r = await runCli(['migrate', 'status', '--database-url', url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/database "nope_[0-9a-f]+" does not exist/);
    expectNoSecret(r, new URL(adminUrl()).password);
  });

  it('TLS unavailable when sslmode=require and the server has no TLS', async () => {
    const [{ ssl }] = await (async () => {
      const postgres = (await import('postgres')).default;
      const s = postgres(adminUrl(), { max: 1 });
      try { return await s`select current_setting('ssl') = 'on' as ssl`; } finally { await s.end(); }
    })();
    expect(ssl, 'the test server is expected to run without TLS').toBe(false);
    const r = await runCli(['migrate', 'status', '--database-url', `${adminUrl()}?sslmode=require`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/does not offer TLS \(sslmode=require\)/);
  });

  it('TLS required by the server (pg_hba hostssl only) maps to a clear message', () => {
    const err = Object.assign(new Error('no pg_hba.conf entry for host "10.0.0.5", user "app", database "db", no encryption'), { code: '28000', severity: 'FATAL', name: 'PostgresError' });
    const mapped = describeConnectionError(err, `postgres://app:${SECRET}@db.example.com/db`);
    expect(mapped.exitCode).toBe(3);
    expect(mapped.message).toBe('server at db.example.com:5432 requires TLS for user "app"');
    expect(mapped.hint).toMatch(/sslmode=require/);
  });

  it('a malformed URL is a usage error (exit 2)', async () => {
    const r = await runCli(['deploy', '--database-url', `postgres://app:${SECRET}@host:notaport/db`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/malformed database URL|invalid port/);
    expectNoSecret(r);
  });
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

describe('the connect timeout bounds the whole handshake, whatever the peer does', () => {
  const sockets: Socket[] = [];
  // Like an HTTP port: answers garbage to the startup packet and closes.
  const http = createServer((s) => { sockets.push(s); s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')); });
  // Accepts, reads, says nothing, never closes.
  const silent = createServer((s) => { sockets.push(s); s.resume(); });
  // Accepts and closes at once without a word.
  const closer = createServer((s) => { s.destroy(); });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await Promise.all([http, silent, closer].map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  });

  for (const command of [['deploy'], ['migrate', 'status'], ['roles', 'list']]) {
    it(`${command.join(' ')}: a peer that answers garbage is "not a PostgreSQL server", exit 3`, async () => {
      const port = http.listening ? (http.address() as { port: number }).port : await listen(http);
      const r = await runCli([...command, '--connect-timeout', '2', '--database-url', `postgres://app:${SECRET}@127.0.0.1:${port}/db`], { timeoutMs: 15_000 });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`127.0.0.1:${port} is not a PostgreSQL server`);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expectNoSecret(r);
    });

    it(`${command.join(' ')}: a silent peer times out after --connect-timeout, exit 3`, async () => {
      const port = silent.listening ? (silent.address() as { port: number }).port : await listen(silent);
      const t = Date.now();
      const r = await runCli([...command, '--connect-timeout', '2', '--database-url', `postgres://app:${SECRET}@127.0.0.1:${port}/db?sslmode=require`], { timeoutMs: 15_000 });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`timed out connecting to 127.0.0.1:${port}`);
      expect(Date.now() - t).toBeLessThan(12_000); // not a speed claim: it must not hang
      expectNoSecret(r);
    });
  }

  it('a peer that closes without a word is not a PostgreSQL server either', async () => {
    const port = await listen(closer);
    const r = await runCli(['migrate', 'status', '--connect-timeout', '2', '--database-url', `postgres://app:${SECRET}@127.0.0.1:${port}/db`], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/is not a PostgreSQL server|closed the connection/);
  });
});

describe('URL parameters are checked before connecting (exit 2 naming the parameter)', () => {
  for (const [query, pattern] of [
    ['sslmode=bogus', /sslmode.*must be one of disable, allow, prefer, require, verify-ca, verify-full, got "bogus"/],
    ['sslmdoe=require', /unknown database URL parameter "sslmdoe"/],
    ['connect_timeout=0', /connect_timeout.*from 1 to 3600/],
    ['target_session_attrs=whatever', /target_session_attrs/],
  ] as const) {
    it(query, async () => {
      const r = await runCli(['migrate', 'status', '--database-url', `postgres://app:${SECRET}@127.0.0.1:1/db?${query}`]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expectNoSecret(r);
    });
  }

  it('accepts the libpq parameters that make sense (sslmode, application_name, options, connect_timeout)', async () => {
    const url = `${adminUrl()}?sslmode=disable&application_name=bk_probe&connect_timeout=5&options=${encodeURIComponent('-c work_mem=8MB')}`;
    const r = await runCli(['migrate', 'status', '--json', '--database-url', withDatabase(url, 'postgres')]);
    // the maintenance database has no ledger: any answer but a usage error proves the URL was accepted
    expect(r.code, r.stderr).not.toBe(2);
    expect(r.code, r.stderr).not.toBe(3);
  });
});

describe('~/.pgpass, PGPASSFILE and pg_service.conf, as libpq reads them', () => {
  const admin = new URL(adminUrl());
  const realPassword = decodeURIComponent(admin.password);
  const noPassword = () => { const u = new URL(adminUrl()); u.password = ''; return u.toString(); };
  const escaped = realPassword.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  const home = () => { const d = scratchDir(); return d; };

  it('uses a matching ~/.pgpass line (wildcards, first match wins) when the URL has no password', async () => {
    const h = home();
    writeFileSync(join(h, '.pgpass'), [
      '# comment',
      `otherhost:*:*:*:wrong`,
      `${admin.hostname}:${admin.port}:*:${admin.username}:${escaped}`,
      `*:*:*:*:wrong-too`,
    ].join('\n') + '\n', { mode: 0o600 });
    const r = await runCli(['roles', 'list', '--json', '--database-url', noPassword()], { env: { HOME: h } });
    expect(r.code, r.stderr).toBe(0);
    expectNoSecret(r, realPassword);
  });

  it('PGPASSFILE overrides ~/.pgpass; a group-readable file is ignored with a warning', async () => {
    const h = home();
    const file = join(h, 'pw');
    writeFileSync(file, `*:*:*:${admin.username}:${escaped}\n`, { mode: 0o600 });
    const ok = await runCli(['roles', 'list', '--database-url', noPassword()], { env: { HOME: h, PGPASSFILE: file } });
    expect(ok.code, ok.stderr).toBe(0);
    chmodSync(file, 0o644);
    const loose = await runCli(['roles', 'list', '--database-url', noPassword()], { env: { HOME: h, PGPASSFILE: file } });
    expect(loose.code).toBe(3);
    expect(loose.stderr).toMatch(/warning: password file ".*pw" has group or world access; permissions should be u=rw \(0600\) or less/);
    expect(loose.stderr).toMatch(/authentication failed/);
    expectNoSecret(loose, realPassword);
  });

  it('PGSERVICE with PGSERVICEFILE gives host, port, user and dbname; ~/.pgpass the password', async () => {
    const h = home();
    writeFileSync(join(h, '.pgpass'), `*:*:*:*:${escaped}\n`, { mode: 0o600 });
    const services = join(h, 'services.conf');
    writeFileSync(services, `[other]\nhost=nowhere.invalid\n\n[bk]\nhost=${admin.hostname}\nport=${admin.port}\nuser=${admin.username}\ndbname=postgres\nsslmode=disable\n`);
    const r = await runCli(['roles', 'list', '--json'], { env: { HOME: h, PGSERVICE: 'bk', PGSERVICEFILE: services } });
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(services, `[bk]\nhost=${admin.hostname}\nprot=1\n`);
    const bad = await runCli(['roles', 'list'], { env: { HOME: h, PGSERVICE: 'bk', PGSERVICEFILE: services } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown parameter "prot" in service file .*services\.conf, line 3/);
  });
});
