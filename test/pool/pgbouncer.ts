import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { serverUser } from '../../src/local/os-user.js';
import { answersPostgres } from '../../src/local/postmaster.js';
import { freePort } from '../helpers/server.js';

/**
 * A real PgBouncer (Debian's /usr/sbin/pgbouncer, installed by .ci/run) on
 * 127.0.0.1:<free port> in front of the test server, for one test file: an ini and an
 * auth_file (SCRAM to the client and to the server, from the plaintext passwords given)
 * in a 0700 directory of its own under the run directory, started in the foreground as
 * a child (as root: `-u postgres`, PgBouncer refuses root). The caller stops it (stop():
 * SIGTERM, then its directory is removed) in its own teardown: an afterAll registered
 * from inside beforeAll never runs. Loopback only; no Unix socket.
 *
 * `ignore_startup_parameters` lists search_path: bookingdb's connect() sends
 * search_path = pg_catalog, pg_temp in the startup packet, which PgBouncer 1.18 refuses
 * ("unsupported startup parameter: search_path", 08P01) unless told to ignore it.
 */
export interface Bouncer {
  port: number;
  /** postgres://user:password@127.0.0.1:<bouncer port>/database */
  url(user: string, password: string, database: string): string;
  logFile: string;
  stop(): Promise<void>;
}

export interface BouncerOptions {
  upstreamHost: string;
  upstreamPort: number;
  users: Array<{ name: string; password: string }>;
  poolMode?: 'transaction' | 'session';
  poolSize?: number;
  /** PgBouncer's ignore_startup_parameters (default: extra_float_digits, search_path). */
  ignoreStartupParameters?: string;
}

function pgbouncerBinary(): string {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run installs it)');
}

function runDir(): string {
  try {
    return inject('scratchRoot') || tmpdir();
  } catch {
    return tmpdir();
  }
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function startPgbouncer(options: BouncerOptions): Promise<Bouncer> {
  const bin = pgbouncerBinary();
  const dir = mkdtempSync(join(runDir(), 'pgbouncer-'));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const authFile = join(dir, 'userlist.txt');
  const logFile = join(dir, 'pgbouncer.log');
  writeFileSync(authFile, options.users.map((u) => `${quote(u.name)} ${quote(u.password)}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(ini, [
    '[databases]',
    `* = host=${options.upstreamHost} port=${options.upstreamPort}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = scram-sha-256',
    `auth_file = ${authFile}`,
    `pool_mode = ${options.poolMode ?? 'transaction'}`,
    `default_pool_size = ${options.poolSize ?? 2}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 200',
    `ignore_startup_parameters = ${options.ignoreStartupParameters ?? 'extra_float_digits, search_path'}`,
    `logfile = ${logFile}`,
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n'), { mode: 0o600 });
  const user = await serverUser();
  const args: string[] = [];
  if (user.uid !== undefined) {
    for (const f of [dir, ini, authFile]) chownSync(f, user.uid, user.gid ?? user.uid);
    args.push('-u', 'postgres');
  }
  chmodSync(dir, 0o700);
  const child: ChildProcess = spawn(bin, [...args, ini], { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!(await answersPostgres(port, 300))) {
    if (exited || Date.now() > deadline) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      await stop();
      throw new Error(`pgbouncer did not start on 127.0.0.1:${port}: ${stderr}${log}`.trim());
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    logFile,
    url: (u, p, d) => `postgres://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${port}/${encodeURIComponent(d)}`,
    stop,
  };
}
