import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Loading the project's .sql files: sorted listing, SHA-256 checksums of the
 * LF-normalised text (so a CRLF checkout does not look like an edit), and the role
 * prefix rewrite (files name roles with the default prefix `bookingdb_`).
 */
export interface SqlFile {
  /** Path relative to its root folder, with forward slashes (the ledger key). */
  name: string;
  path: string;
  text: string;
  sha256: string;
}

export function normaliseSql(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

export function sha256(text: string): string {
  return createHash('sha256').update(normaliseSql(text), 'utf8').digest('hex');
}

/** Every *.sql file under dir, recursively, sorted by relative path. Missing dir: none. */
export async function listSqlFiles(dir: string): Promise<SqlFile[]> {
  const found: string[] = [];
  async function walk(current: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && entry.name.endsWith('.sql')) found.push(full);
    }
  }
  await walk(dir);
  const files = await Promise.all(
    found.map(async (path) => {
      const text = normaliseSql(await readFile(path, 'utf8'));
      return { name: relative(dir, path).split('\\').join('/'), path, text, sha256: sha256(text) };
    }),
  );
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const ROLE_PATTERN = /\bbookingdb_(owner|app|reporting|backup|monitor|ops)\b/g;

/** Rewrites the default role names for a configured prefix (identity for `bookingdb`). */
export function renderRoles(text: string, prefix: string): string {
  if (prefix === 'bookingdb') return text;
  return text.replace(ROLE_PATTERN, (_m, kind: string) => `${prefix}_${kind}`);
}

/** 1-based line of a character position (PostgreSQL error positions are 1-based). */
export function lineOfPosition(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split('\n').length;
}
