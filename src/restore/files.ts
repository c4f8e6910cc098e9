import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { BackupManifest } from '../backup/manifest.js';
import { MANIFEST_FILE } from '../backup/manifest.js';

/**
 * The checks that need nothing but the backup directory: the manifest agrees with
 * itself, and every file it lists has its size and SHA-256. Each returns the problem
 * (naming the file) or undefined, so restore-verify and restore report it the same way.
 */
export interface FileProblem {
  file: string;
  message: string;
}

/** A manifest that parses but contradicts itself (its id, its totals, a path outside the backup). */
export function checkManifestConsistency(backupDir: string, id: string, m: BackupManifest): FileProblem | undefined {
  const file = join(backupDir, MANIFEST_FILE);
  if (m.id !== id) return { file, message: `${file} names backup ${m.id}, but it is in directory ${id}` };
  for (const f of m.files) {
    const n = normalize(f.path);
    if (isAbsolute(f.path) || n.startsWith(`..${sep}`) || n === '..' || f.path.includes('\0')) {
      return { file, message: `${file} lists a file outside the backup directory: ${f.path}` };
    }
  }
  const bytes = m.files.reduce((s, f) => s + f.bytes, 0);
  if (bytes !== m.bytes) return { file, message: `${file} says ${m.bytes} bytes in all, but its files add up to ${bytes}` };
  const rows = Object.values(m.tables).reduce((s, n) => s + n, 0);
  if (rows !== m.rows) return { file, message: `${file} says ${m.rows} rows in all, but its tables add up to ${rows}` };
  if (Date.parse(m.finishedAt) < Date.parse(m.startedAt)) return { file, message: `${file} says the backup finished before it started` };
  if ((m.encryption !== null) !== m.files.every((f) => f.path.endsWith('.age'))) {
    return { file, message: `${file} says encryption is ${m.encryption ? 'on' : 'off'}, but its files ${m.encryption ? 'are not all' : 'are'} .age files` };
  }
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Size first (cheap, catches truncation and a missing file), then the SHA-256 of every file. */
export async function checkFiles(backupDir: string, m: BackupManifest): Promise<{ problem?: FileProblem; files: number; bytes: number }> {
  let bytes = 0;
  for (const f of m.files) {
    const path = join(backupDir, f.path);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { problem: { file: path, message: `${path} is missing` }, files: m.files.length, bytes };
      throw error;
    }
    if (size !== f.bytes) return { problem: { file: path, message: `${path} has ${size} bytes, the manifest says ${f.bytes}${size < f.bytes ? ' (truncated)' : ''}` }, files: m.files.length, bytes };
  }
  for (const f of m.files) {
    const path = join(backupDir, f.path);
    const sum = await sha256File(path);
    if (sum !== f.sha256) return { problem: { file: path, message: `${path} has SHA-256 ${sum}, the manifest says ${f.sha256}: the file is damaged` }, files: m.files.length, bytes };
    bytes += f.bytes;
  }
  return { files: m.files.length, bytes };
}
