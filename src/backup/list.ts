import { listBackups } from './manifest.js';
import { inspectPartials } from './leftovers.js';

/**
 * What `backup list` shows: every complete backup, and every directory that is not
 * one (no or a bad manifest, a partial being written, a leftover), marked as such and
 * never as complete. Oldest first, like the ids.
 */
export type BackupState = 'complete' | 'invalid' | 'in-progress' | 'incomplete';

export interface BackupListEntry {
  id: string;
  state: BackupState;
  path: string;
  startedAt: string | null;
  finishedAt: string | null;
  bytes: number | null;
  rows: number | null;
  format: 'custom' | 'directory' | null;
  encrypted: boolean | null;
  database: string | null;
  lastVerified: { at: string; result: 'passed' | 'failed'; failedStep: string | null } | null;
  /** Why it is not complete. */
  problem: string | null;
}

export async function describeBackups(root: string): Promise<BackupListEntry[]> {
  const { backups, invalid } = await listBackups(root);
  const out: BackupListEntry[] = backups.map((b) => ({
    id: b.id, state: 'complete', path: b.path,
    startedAt: b.manifest.startedAt, finishedAt: b.manifest.finishedAt, bytes: b.manifest.bytes, rows: b.manifest.rows,
    format: b.manifest.dump.format, encrypted: b.manifest.encryption !== null, database: b.manifest.database,
    lastVerified: b.verdict ? { at: b.verdict.verifiedAt, result: b.verdict.result, failedStep: b.verdict.failedStep } : null,
    problem: null,
  }));
  const blank = { startedAt: null, finishedAt: null, bytes: null, rows: null, format: null, encrypted: null, database: null, lastVerified: null };
  for (const i of invalid) out.push({ id: i.id, state: 'invalid', path: i.path, ...blank, problem: i.error });
  for (const p of await inspectPartials(root)) {
    out.push({
      id: p.name, state: p.activeReason ? 'in-progress' : 'incomplete', path: p.path, ...blank,
      problem: p.activeReason ?? 'left by a backup (or prune) that did not complete; the next backup removes it',
    });
  }
  return out.sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
}

function idOf(e: BackupListEntry): string {
  return e.id.replace(/^\.(partial|pruning)-/, '');
}
