import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, inject } from 'vitest';
import { withDatabase } from '../../src/db/url.js';

/**
 * A database of this test file's own, cloned from the deployed template (fast, and
 * files run in parallel without seeing each other). Dropped after the file.
 */
export interface TestDatabase {
  name: string;
  /** Superuser URL of the clone. */
  url: string;
  /** Superuser connection to the clone. */
  sql: postgres.Sql;
  /** Superuser URL of the server's maintenance database. */
  adminUrl: string;
}

const open: postgres.Sql[] = [];

export function adminUrl(): string {
  return inject('adminUrl');
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Clones the template; `empty: true` gives a name with no database behind it yet. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  const name = uniqueName('bktest');
  try {
    if (!options.empty) await admin.unsafe(`create database "${name}" template "${inject('templateDb')}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl(), name);
  const sql = postgres(url, { max: 4, onnotice: () => undefined });
  open.push(sql);
  afterAll(async () => {
    await sql.end({ timeout: 5 });
    const a = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      await a.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await a.end();
    }
  });
  return { name, url, sql, adminUrl: adminUrl() };
}

/** A postgres.js pool for another URL that is closed after the file. */
export function pool(url: string, max = 4): postgres.Sql {
  const sql = postgres(url, { max, onnotice: () => undefined });
  afterAll(async () => { await sql.end({ timeout: 5 }); });
  return sql;
}

/** True when `user` can log in to the server of `url` with `password` (a fresh one-connection pool). */
export async function canLogin(url: string, user: string, password: string): Promise<boolean> {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  const sql = postgres(u.toString(), { max: 1, onnotice: () => undefined, connect_timeout: 5 });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
