import { createServer, type Server, type Socket } from 'node:net';
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
