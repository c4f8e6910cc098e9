import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKUP_ID, findBackup, listBackups } from '../backup/manifest.js';
import { preconditionError, usageError } from '../errors.js';

/**
 * The backup directory restore-verify and restore work on. An id names a directory
 * whose manifest is then checked as a step (so an edited manifest is a failed
 * verification naming manifest.json, not "no such backup"); "latest" is the newest
 * complete backup (a valid manifest), as `backup list` shows them.
 */
export async function resolveBackup(dir: string, idOrLatest: string): Promise<{ id: string; path: string }> {
  if (idOrLatest === 'latest') {
    const entry = await findBackup(dir, 'latest');
    if (!entry) {
      const { invalid } = await listBackups(dir);
      throw preconditionError('no_backup', `no complete backup under ${dir}${invalid.length ? ` (${invalid.length} incomplete or unreadable: ${invalid.at(-1)!.error})` : ''}`, 'run `bookingdb backup` first, or pass --dir with the backup directory');
    }
    return { id: entry.id, path: entry.path };
  }
  if (!BACKUP_ID.test(idOrLatest)) throw usageError(`--backup must be a backup id like 20261201T223015Z-3fa9 or "latest", got "${idOrLatest}"`, 'run `bookingdb backup list` to see the ids');
  const path = join(dir, idOrLatest);
  try {
    if (!(await stat(path)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw preconditionError('no_backup', `no backup ${idOrLatest} under ${dir}`, 'run `bookingdb backup list` to see the ids, or pass --dir with the backup directory');
  }
  return { id: idOrLatest, path };
}
