import { listBackups } from './manifest.js';
import { deleteBackupDir } from './leftovers.js';
import { selectRetention, type KeepCounts, type RetentionDecision } from './retention.js';

/**
 * Applies the retention rules (retention.ts) to the complete backups under root.
 * Only complete backups are candidates: an invalid or incomplete directory is never
 * deleted here (it is shown by `backup list`; the operator decides). `backup` calls
 * this only after its own backup completed.
 */
export interface PruneOptions {
  keep: KeepCounts;
  timeZone: string;
  now: Date;
  dryRun: boolean;
}

export interface PruneReport {
  dryRun: boolean;
  keep: KeepCounts;
  timeZone: string;
  decisions: (Omit<RetentionDecision, 'startedAt'> & { startedAt: string; bytes: number })[];
  deleted: string[];
  /** Directories named like a backup that are not complete (left alone). */
  invalid: { id: string; error: string }[];
}

export async function pruneBackups(root: string, options: PruneOptions): Promise<PruneReport> {
  const { backups, invalid } = await listBackups(root);
  const byId = new Map(backups.map((b) => [b.id, b]));
  const decisions = selectRetention(
    backups.map((b) => ({ id: b.id, startedAt: new Date(b.manifest.startedAt), verified: b.verdict?.result ?? null })),
    options.now, options.keep, options.timeZone,
  );
  const deleted: string[] = [];
  if (!options.dryRun) {
    for (const d of decisions.filter((x) => x.action === 'delete')) {
      await deleteBackupDir(root, d.id);
      deleted.push(d.id);
    }
  }
  return {
    dryRun: options.dryRun, keep: options.keep, timeZone: options.timeZone,
    decisions: decisions.map((d) => ({ ...d, startedAt: d.startedAt.toISOString(), bytes: byId.get(d.id)!.manifest.bytes })),
    deleted,
    invalid: invalid.map((i) => ({ id: i.id, error: i.error })),
  };
}
