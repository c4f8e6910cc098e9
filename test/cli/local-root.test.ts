import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { freePort } from '../helpers/server.js';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPackage, runCli, scratchDir } from '../helpers/cli.js';

const isRoot = userInfo().uid === 0;

/**
 * The common root case: a clone in a mode-0700 directory (under /root, or `mktemp -d`),
 * with its own node_modules inside it. As root the server runs as `postgres`, which can
 * traverse neither the project nor the bundled binaries: bookingdb must find a place
 * postgres can reach by itself, say so, and remember it.
 */
describe('local cluster from a mode-0700 project directory', () => {
  let cwd = '';
  let env: NodeJS.ProcessEnv = {};
  afterAll(async () => {
    if (!cwd) return;
    await runCli(['local', 'stop'], { cwd, env, bin: join(cwd, 'bin/bookingdb.js') });
    const pointer = join(cwd, '.bookingdb/local/location');
    if (existsSync(pointer)) rmSync(readFileSync(pointer, 'utf8').trim(), { recursive: true, force: true });
  });

  it('deploy works without user action, says where the data lives, and later commands find it', async () => {
    const pkg = await copyPackage({ embedded: 'copy', mode: 0o700 });
    // a 0700 parent above a 0700 project: neither is traversable by others
    cwd = pkg.dir;
    const parent = join(cwd, '..');
    expect(statSync(parent).mode & 0o777).toBe(0o700);
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
    env = { BOOKINGDB_LOCAL_PORT: String(await freePort()) };

    const r = await runCli(['deploy', '--json'], { cwd, env, bin: pkg.bin, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verification.every((v: { status: string }) => v.status === 'ok')).toBe(true);
    if (isRoot) {
      // names the directory postgres cannot traverse and where the cluster went instead
      expect(r.stderr).toContain(`${parent} is not traversable`);
      expect(r.stderr).toMatch(/local cluster data in \/var\/lib\/bookingdb\/local-[0-9a-f]{16}\/data instead/);
      expect(existsSync(join(cwd, '.bookingdb/local/location'))).toBe(true);
    }

    const status = await runCli(['local', 'status', '--json'], { cwd, env, bin: pkg.bin });
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.running).toBe(true);
    if (isRoot) expect(s.dataDir).toMatch(/^\/var\/lib\/bookingdb\/local-[0-9a-f]{16}\/data$/);

    const url = await runCli(['local', 'url', '--json'], { cwd, env, bin: pkg.bin });
    expect(url.code, url.stderr).toBe(0);
    const sql = postgres(JSON.parse(url.stdout).url, { max: 1, onnotice: () => undefined });
    expect(await sql`select count(*)::int as n from pg_namespace where nspname = 'booking'`).toEqual([{ n: 1 }]);
    await sql.end();
  });

  it('an existing cluster postgres can no longer reach is not moved: the error names the directory and the fix (exit 4)', async () => {
    const base = scratchDir();
    const project = join(base, 'project');
    const env2 = { BOOKINGDB_LOCAL_PORT: String(await freePort()) };
    mkdirSync(project);
    expect((await runCli(['local', 'start'], { cwd: project, env: env2 })).code).toBe(0);
    expect((await runCli(['local', 'stop'], { cwd: project, env: env2 })).code).toBe(0);
    chmodSync(base, 0o700);
    const r = await runCli(['local', 'start'], { cwd: project, env: env2 });
    if (isRoot) {
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain(`${base} is not traversable`);
      expect(r.stderr).toContain(`hint: run chmod o+x ${base}`);
      chmodSync(base, 0o755);
      expect((await runCli(['local', 'start'], { cwd: project, env: env2 })).code).toBe(0);
    } else {
      expect(r.code, r.stderr).toBe(0); // the caller runs the server and can traverse its own directories
    }
    expect((await runCli(['local', 'stop'], { cwd: project, env: env2 })).code).toBe(0);
  });
});
