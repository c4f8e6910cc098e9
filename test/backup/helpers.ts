import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type postgres from 'postgres';
import { findPgTool } from '../../src/backup/pg-tools.js';
import { readManifest, type BackupManifest } from '../../src/backup/manifest.js';

/** Shared by the backup tests: real pg_dump/pg_restore, counts in the source, directory listings. */
export const run = promisify(execFile);

/** The pg_restore bookingdb itself would pick for this server. */
export async function pgRestorePath(sql: postgres.Sql): Promise<string> {
  const [{ major }] = await sql`select current_setting('server_version_num')::int / 10000 as major`;
  return (await findPgTool('pg_restore', Number(major))).path;
}

/** Exact count(*) of every table the manifest lists, in the database of `sql`. */
export async function countTables(sql: postgres.Sql, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [schema, name] = t.split('.');
    const [r] = await sql.unsafe(`select count(*)::int as n from "${schema}"."${name}"`);
    out[t] = Number(r.n);
  }
  return out;
}

/** Names in a backup directory (dot entries included), sorted. */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export async function onlyManifest(dir: string): Promise<BackupManifest> {
  const ids = entries(dir).filter((n) => !n.startsWith('.'));
  if (ids.length !== 1) throw new Error(`expected one backup in ${dir}, found ${ids.join(', ') || 'none'}`);
  return readManifest(`${dir}/${ids[0]}`);
}
