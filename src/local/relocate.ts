import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { BookingDbError, ExitCode, preconditionError } from '../errors.js';
import { firstUntraversable, type ServerUser } from './os-user.js';
import { assertSafePath } from './safe-path.js';

/**
 * The root case. As root the server runs as `postgres`, which must traverse every parent
 * of the data directory and of the bundled binaries. A clone in a mode-0700 directory
 * (under /root, or `mktemp -d`) has neither, so bookingdb, without being asked:
 * - runs a copy of the binaries' install tree from /var/lib/bookingdb/postgresql-<version>/
 *   (root-owned, read-only to others, made once per version, reused);
 * - puts a new cluster's data in /var/lib/bookingdb/local-<hash of the configured dir>/
 *   and remembers it in `<configured dir>/location`, so later commands find the same
 *   cluster.
 * /var/lib rather than /var/tmp: systemd-tmpfiles deletes files in /var/tmp that were not
 * touched for 30 days, which would tear holes in an idle cluster. Both moves are said
 * through `notify`. An existing cluster is never moved: if postgres cannot reach it, the
 * error names the directory to open.
 */
export const RELOCATION_BASE = '/var/lib/bookingdb';
const POINTER = 'location';
const COMPLETE = '.bookingdb-complete';

export interface Binaries {
  initdb: string;
  postgres: string;
}

/** A directory bookingdb made for itself: a real directory of ours that nobody else may write. */
function assertOwnDirectory(dir: string): void {
  const st = lstatSync(dir);
  const uid = userInfo().uid;
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw preconditionError('local_relocation_unsafe',
      `${dir} exists but is not a directory of uid ${uid} closed to others' writes, so bookingdb will not use it`,
      `remove it (rm -rf ${dir}) and run the command again`);
  }
}

/** Makes /var/lib/bookingdb (root, 0755) and checks that the server user can reach it. */
function prepareBase(user: ServerUser, what: string, blocked: string): void {
  const cannot = (why: string) => preconditionError('local_dir_unreachable',
    `the postgres OS user cannot reach ${what} (${blocked} is not traversable), and ${why}`,
    `run chmod o+x ${blocked}, or set BOOKINGDB_LOCAL_DIR and install the project under directories others can traverse`);
  try {
    mkdirSync(RELOCATION_BASE, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw cannot(`bookingdb could not make ${RELOCATION_BASE} instead (${(error as Error).message})`);
  }
  assertOwnDirectory(RELOCATION_BASE);
  const base = firstUntraversable(RELOCATION_BASE, user);
  if (base) throw cannot(`not ${RELOCATION_BASE} either (${base} is not traversable)`);
}

/**
 * The binaries to run: the bundled ones when the server user can reach them, else the
 * copy in /var/lib/bookingdb (made now when missing). Paths are checked by assertSafePath.
 */
export function reachableBinaries(bundled: Binaries, user: ServerUser, notify: (m: string) => void): Binaries {
  const native = dirname(dirname(bundled.postgres));
  assertSafePath('bundled PostgreSQL directory', native, 'install the project under a path made of those characters');
  const blocked = ['bin', 'lib', 'share'].map((d) => firstUntraversable(join(native, d), user)).find(Boolean);
  if (!blocked) return bundled;
  prepareBase(user, `the bundled PostgreSQL binaries in ${native}`, blocked);
  const version = readVersion(native);
  const target = join(RELOCATION_BASE, `postgresql-${version}`);
  if (!existsSync(join(target, COMPLETE))) {
    copyTree(native, target);
    notify(`the postgres OS user cannot reach the bundled PostgreSQL binaries in ${native} (${blocked} is not traversable): copied them to ${target}`);
  } else {
    assertOwnDirectory(target);
  }
  return { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
}

function readVersion(native: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version?: string };
    const v = String(pkg.version ?? '');
    if (/^[A-Za-z0-9.+-]{1,64}$/.test(v)) return v.replace(/\+/g, '-');
  } catch {
    // fall through: key the copy by the install path instead
  }
  return createHash('sha256').update(native).digest('hex').slice(0, 16);
}

/** Copies src to target atomically (a temp name, then rename); a concurrent copier may win. */
function copyTree(src: string, target: string): void {
  if (existsSync(target)) {
    assertOwnDirectory(target);
    rmSync(target, { recursive: true, force: true }); // ours but incomplete: an interrupted copy
  }
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { mode: 0o755 });
  try {
    cpSync(src, tmp, { recursive: true, verbatimSymlinks: true });
    chmodSync(tmp, 0o755);
    writeFileSync(join(tmp, COMPLETE), '');
    try {
      renameSync(tmp, target);
    } catch (error) {
      if (!existsSync(join(target, COMPLETE))) throw error;
      assertOwnDirectory(target); // another process made it first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface Location {
  /** Where the cluster's files live: the configured dir, or its relocation. */
  root: string;
  dataDir: string;
  /** The configured dir, when the cluster lives elsewhere. */
  relocatedFrom?: string;
}

const RELOCATED = /^\/var\/lib\/bookingdb\/local-[0-9a-f]{16}$/;

/** Where the cluster configured in `dir` lives (following a pointer left by relocate). */
export function locate(dir: string): Location {
  const pointer = join(dir, POINTER);
  if (existsSync(pointer)) {
    const root = readFileSync(pointer, 'utf8').trim();
    if (!RELOCATED.test(root)) {
      throw new BookingDbError('local_pointer_invalid', `${pointer} points to ${JSON.stringify(root)}, which bookingdb never makes`, {
        exitCode: ExitCode.usage,
        hint: `remove ${pointer} (the cluster it named is not touched) and run the command again`,
      });
    }
    if (existsSync(root)) assertOwnDirectory(root);
    return { root, dataDir: join(root, 'data'), relocatedFrom: dir };
  }
  return { root: dir, dataDir: join(dir, 'data') };
}

/**
 * Before a first initdb: when the server user cannot reach `dir`, moves the new cluster
 * to /var/lib/bookingdb and leaves the pointer. An initialised cluster stays where it is.
 */
export function relocateIfUnreachable(dir: string, loc: Location, user: ServerUser, notify: (m: string) => void): Location {
  if (loc.relocatedFrom || existsSync(join(loc.dataDir, 'PG_VERSION'))) return loc;
  const blocked = firstUntraversable(dir, user);
  if (!blocked) return loc;
  prepareBase(user, dir, blocked);
  const root = join(RELOCATION_BASE, `local-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  if (existsSync(root)) assertOwnDirectory(root);
  else mkdirSync(root, { mode: 0o711 });
  chmodSync(root, 0o711);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, POINTER), `${root}\n`, { mode: 0o600 });
  notify(`the postgres OS user cannot reach ${dir} (${blocked} is not traversable): local cluster data in ${root}/data instead (remembered in ${join(dir, POINTER)}; \`bookingdb local stop\` then rm -rf ${root} ${dir} removes it)`);
  return { root, dataDir: join(root, 'data'), relocatedFrom: dir };
}
