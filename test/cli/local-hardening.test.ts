import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/server.js';
import { runCli, scratchDir } from '../helpers/cli.js';

describe('local cluster: no shell reach from the configured directory', () => {
  it('a local.dir holding $(...) in bookingdb.config.json is refused (exit 2) and runs nothing', async () => {
    const cwd = scratchDir();
    chmodSync(cwd, 0o777); // so that an injected command run as postgres could write its marker here
    const marker = join(cwd, 'pwned');
    writeFileSync(join(cwd, 'bookingdb.config.json'), JSON.stringify({ local: { dir: `${cwd}/x$(id>${marker})` } }));
    const r = await runCli(['local', 'start'], { cwd });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/local cluster directory .* contains "\$"/);
    expect(r.stderr).toMatch(/letters, digits/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${cwd}/x$(id>${marker})`)).toBe(false); // nothing created either
  });

  it('a backtick in BOOKINGDB_LOCAL_DIR is refused the same way, also for deploy and --json', async () => {
    const cwd = scratchDir();
    chmodSync(cwd, 0o777);
    const marker = join(cwd, 'pwned2');
    const r = await runCli(['deploy', '--json'], { cwd, env: { BOOKINGDB_LOCAL_DIR: `${cwd}/y\`id>${marker}\`` } });
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).ok).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('local cluster: status means "answers", ports, url --json', () => {
  const cwd = scratchDir();
  const localDir = join(cwd, 'cluster');
  let env: NodeJS.ProcessEnv = {};
  afterAll(async () => { await runCli(['local', 'stop'], { cwd, env }); });

  it('start --port N on a running cluster names the running port and how to move it (exit 2); url --json is a document', async () => {
    const port = await freePort();
    env = { BOOKINGDB_LOCAL_DIR: localDir, BOOKINGDB_LOCAL_PORT: String(port) };
    expect((await runCli(['local', 'start'], { cwd, env })).code).toBe(0);
    const other = await freePort();
    const moved = await runCli(['local', 'start', '--port', String(other)], { cwd, env });
    expect(moved.code, moved.stderr).toBe(2);
    expect(moved.stderr).toContain(`already running on 127.0.0.1:${port}`);
    expect(moved.stderr).toMatch(/bookingdb local stop.*bookingdb local start --port \d+/);

    const same = await runCli(['local', 'start', '--port', String(port)], { cwd, env });
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/already running/);

    const json = await runCli(['local', 'url', '--json'], { cwd, env });
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.url).toMatch(new RegExp(`^postgres://postgres:[A-Za-z0-9_-]+@127\\.0\\.0\\.1:${port}/bookingdb$`));
    const sql = postgres(doc.url, { max: 1, onnotice: () => undefined });
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    await sql.end();
  });

  it('a postmaster that is alive but does not answer (SIGSTOP) is "not answering", not running (exit 1)', async () => {
    const pid = Number(readFileSync(join(localDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGSTOP');
    try {
      const status = await runCli(['local', 'status', '--json'], { cwd, env });
      expect(status.code, status.stdout).toBe(1);
      expect(JSON.parse(status.stdout)).toMatchObject({ running: false, state: 'not answering', pid });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect((await runCli(['local', 'status'], { cwd, env })).code).toBe(0);
  });

  it('after kill -9 of the postmaster, status says stopped at once and start starts it again', async () => {
    const pidFile = join(localDir, 'data', 'postmaster.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const status = await runCli(['local', 'status', '--json'], { cwd, env });
    expect(status.code, status.stdout).toBe(1);
    expect(JSON.parse(status.stdout).running).toBe(false);
    const text = await runCli(['local', 'status'], { cwd, env });
    expect(text.stdout).not.toMatch(/^running/);

    const start = await runCli(['local', 'start'], { cwd, env });
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/^started local cluster/);
    const url = (await runCli(['local', 'url'], { cwd, env })).stdout.trim();
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    await sql.end();
    const again = await runCli(['local', 'status'], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^running on 127\.0\.0\.1:\d+ \(pid \d+\)/);
  });
});

describe('local cluster: a failure says why, in the server\'s own words', () => {
  it('a bad setting in postgresql.conf: start fails (exit 1) quoting the server, not a blank reason', async () => {
    const cwd = scratchDir();
    const env = { BOOKINGDB_LOCAL_DIR: join(cwd, 'cluster'), BOOKINGDB_LOCAL_PORT: String(await freePort()) };
    expect((await runCli(['local', 'start'], { cwd, env })).code).toBe(0);
    expect((await runCli(['local', 'stop'], { cwd, env })).code).toBe(0);
    writeFileSync(join(cwd, 'cluster/data/postgresql.conf'), 'bogus_setting_xyz = 1\n', { flag: 'a' });
    const r = await runCli(['local', 'start'], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: the local cluster did not start: postgres exited \(code 1\): .*bogus_setting_xyz/m);
    expect(r.stderr).toContain(`hint: see ${join(cwd, 'cluster/server.log')}`);
  });
});
