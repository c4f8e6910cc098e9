import { cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { expect } from 'vitest';
import { adminUrl, type TestDatabase } from '../helpers/database.js';
import { runCli, scratchDir, type CliResult } from '../helpers/cli.js';
import { scratchDatabaseName } from '../../src/restore/scratch.js';

/** A small seeded database: a few tenants with bookings, so counts and samples mean something. */
export const SEED = ['--tenants', '2', '--locations-per-tenant', '1', '--resources-per-location', '2', '--days', '7', '--bookings', '200'];

export async function seed(db: TestDatabase): Promise<void> {
  const r = await runCli(['seed', 'demo', ...SEED, '--database-url', db.url]);
  expect(r.code, r.stderr).toBe(0);
}

/** A copy of one backup under a fresh root (same id), for a test to damage. */
export function copyBackup(path: string, id: string): { root: string; path: string } {
  const root = mkdtempSync(join(scratchDir(), 'backups-'));
  cpSync(path, join(root, id), { recursive: true });
  return { root, path: join(root, id) };
}

export function restoreVerify(db: TestDatabase, root: string, id: string, extra: string[] = []): Promise<CliResult> {
  return runCli(['restore-verify', '--dir', root, '--backup', id, '--jobs', '2', '--database-url', db.url, ...extra], { timeoutMs: 120_000 });
}

/** Databases on the test server whose name starts with the scratch name of `id`. */
export async function scratchDatabases(db: TestDatabase, id: string): Promise<string[]> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin`select datname from pg_database where datname = ${scratchDatabaseName(db.name, id)}`;
    return rows.map((r) => String(r.datname));
  } finally {
    await admin.end();
  }
}
