import { lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PARTIAL_PREFIX } from './manifest.js';
import { syncDir } from './durable.js';

/**
 * What an interrupted run leaves behind, and how the next run tells it from a run that
 * is still going. A backup is written in `.partial-<id>/`, which holds `writer.json`
 * (host and pid of the bookingdb writing it) until just before the manifest; a backup
 * being pruned is first renamed to `.pruning-<id>/` (atomic), so a prune killed midway
 * never leaves a half-deleted directory that still looks like a complete backup.
 * Leftovers are removed at the start of the next backup: a partial whose writer on this
 * host is gone, one without writer.json older than a minute, and every `.pruning-*`.
 */
export const PRUNING_PREFIX = '.pruning-';
export const WRITER_FILE = 'writer.json';

export interface Writer {
  host: string;
  pid: number;
  startedAt: string;
}

export interface PartialState {
  path: string;
  name: string;
  /** Why it is not removed (a writer still alive), or null: a leftover. */
  activeReason: string | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `.partial-<id>/` (mode 0700) with its writer.json. */
export async function createPartial(root: string, id: string): Promise<string> {
  const path = join(root, `${PARTIAL_PREFIX}${id}`);
  await mkdir(path, { mode: 0o700 });
  const writer: Writer = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  await writeFile(join(path, WRITER_FILE), `${JSON.stringify(writer)}\n`, { mode: 0o600, flag: 'wx' });
  return path;
}

/** Every partial or pruning directory under root, with whether something is still writing it. */
export async function inspectPartials(root: string, now = Date.now()): Promise<PartialState[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith(PARTIAL_PREFIX) || n.startsWith(PRUNING_PREFIX)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: PartialState[] = [];
  for (const name of names) {
    const path = join(root, name);
    if (name.startsWith(PRUNING_PREFIX)) {
      out.push({ path, name, activeReason: null });
      continue;
    }
    let writer: Writer | undefined;
    try {
      writer = JSON.parse(await readFile(join(path, WRITER_FILE), 'utf8')) as Writer;
    } catch {
      writer = undefined;
    }
    let activeReason: string | null = null;
    if (writer && writer.host !== hostname()) {
      activeReason = `written by bookingdb pid ${writer.pid} on host ${writer.host}; remove it by hand once that run is over`;
    } else if (writer && writer.pid !== process.pid && alive(writer.pid)) {
      activeReason = `still being written by bookingdb pid ${writer.pid} (since ${writer.startedAt})`;
    } else if (!writer) {
      const st = await lstat(path).catch(() => undefined);
      if (st && now - st.mtimeMs < 60_000) activeReason = 'just created (no writer.json yet)';
    }
    out.push({ path, name, activeReason });
  }
  return out;
}

/** Removes the leftovers; returns the names removed and the partials left because a run still writes them. */
export async function removeLeftovers(root: string): Promise<{ removed: string[]; active: PartialState[] }> {
  const states = await inspectPartials(root);
  const removed: string[] = [];
  for (const s of states.filter((x) => x.activeReason === null)) {
    await rm(s.path, { recursive: true, force: true });
    removed.push(s.name);
  }
  if (removed.length) await syncDir(root);
  return { removed, active: states.filter((x) => x.activeReason !== null) };
}

/** Deletes a complete backup: rename out of the way first (atomic), then remove the files. */
export async function deleteBackupDir(root: string, id: string): Promise<void> {
  const doomed = join(root, `${PRUNING_PREFIX}${id}`);
  await rename(join(root, id), doomed);
  await syncDir(root);
  await rm(doomed, { recursive: true, force: true });
}
