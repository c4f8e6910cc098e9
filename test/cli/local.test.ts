import { createServer, type Server } from 'node:net';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/server.js';
import { runCli, scratchDir } from '../helpers/cli.js';

describe('bookingdb local (the embedded default cluster)', () => {
  const cwd = scratchDir();
  let env: NodeJS.ProcessEnv = {};
  afterAll(async () => { await runCli(['local', 'stop'], { cwd, env }); });

  it('deploy with no database configured starts the local cluster, says so, and deploys', async () => {
    env = { BOOKINGDB_LOCAL_PORT: String(await freePort()) };
    const r = await runCli(['deploy', '--json'], { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no database configured: started the local cluster on 127\.0\.0\.1:\d+/);
    const receipt = JSON.parse(r.stdout);
    expect(receipt.database).toBe('bookingdb');
    expect(receipt.target).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/bookingdb$/);
    expect(receipt.verification.every((v: { status: string }) => v.status === 'ok')).toBe(true);
  });

  it('start and stop are idempotent, data survives a restart, url gives a working superuser URL', async () => {
    const again = await runCli(['local', 'start'], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already running/);
    const url = (await runCli(['local', 'url'], { cwd, env })).stdout.trim();
    expect(url).toMatch(/^postgres:\/\/postgres:[A-Za-z0-9_-]+@127\.0\.0\.1:\d+\/bookingdb$/);
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    const [settings] = await sql`select current_setting('shared_preload_libraries') as preload, current_setting('listen_addresses') as listen`;
    expect(settings).toEqual({ preload: 'pg_stat_statements', listen: '127.0.0.1' });
    await sql`create table public.survives (x int)`;
    await sql.end();

    expect((await runCli(['local', 'stop'], { cwd, env })).stdout).toMatch(/stopped the local cluster/);
    expect((await runCli(['local', 'stop'], { cwd, env })).stdout).toMatch(/was not running/);
    const stopped = await runCli(['local', 'status'], { cwd, env });
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/stopped/);

    expect((await runCli(['local', 'start'], { cwd, env })).code).toBe(0);
    const sql2 = postgres(url, { max: 1, onnotice: () => undefined });
    expect(await sql2`select to_regclass('public.survives') is not null as ok`).toEqual([{ ok: true }]);
    await sql2`drop table public.survives`;
    await sql2.end();
  });

  it('a port held by another program is a clear error (exit 4)', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      const r = await runCli(['local', 'start', '--port', String(port)], { cwd: scratchDir() });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });
});
