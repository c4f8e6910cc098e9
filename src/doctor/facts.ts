import { readFile } from 'node:fs/promises';
import { setLocalTimeouts } from '../db/scoped.js';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { packageRoot } from '../paths.js';
import { normaliseSql } from '../sql-files.js';
import type { PoolerEvidence } from '../db/pooler.js';

/**
 * What doctor knows about the server, gathered in one read-only transaction under a
 * short statement_timeout and lock_timeout: catalog and settings reads only, no table
 * scans, no locks beyond AccessShare on catalogs. What this role may not read is marked
 * unreadable rather than failing the run: pg_hba_file_rules and pg_authid need a
 * superuser; superuser-only settings need pg_read_all_settings.
 */
export interface SettingFact {
  name: string;
  /** pg_settings.setting: the value in the setting's own unit. */
  setting: string;
  unit: string | null;
  vartype: string;
  /** postmaster = needs a restart; sighup = a reload. */
  context: string;
  source: string;
  pendingRestart: boolean;
}

export interface HbaRule {
  lineNumber: number;
  type: string;
  databases: string[];
  users: string[];
  address: string | null;
  authMethod: string | null;
  error: string | null;
}

export interface Facts {
  server: {
    version: string;
    versionNum: number;
    startedAt: string;
    uptimeSeconds: number;
    database: string;
    databaseBytes: number;
    role: string;
    superuser: boolean;
    readsAllSettings: boolean;
    /** NULL on a Unix socket. */
    serverAddr: string | null;
    ssl: { on: boolean; version: string | null; cipher: string | null };
    clientConnections: number;
  };
  /** By name; a setting this role may not read is absent. */
  settings: Record<string, SettingFact>;
  tables: Array<{ name: string; reloptions: Record<string, string>; estimatedRows: number; deadRows: number }>;
  /** LOGIN members of the app group role. */
  appLogins: Array<{ name: string; superuser: boolean; bypassrls: boolean }>;
  appRole: string;
  hba: { readable: boolean; rules: HbaRule[] };
  md5Verifiers: { readable: boolean; roles: string[] };
  /** What src/db/pooler.ts found about the path to the server (absent: not probed). */
  pooler?: PoolerEvidence;
}

/** The settings doctor reads (its advice and its security checks). */
export const DOCTOR_SETTINGS = [
  'shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'max_connections',
  'superuser_reserved_connections', 'random_page_cost', 'effective_io_concurrency', 'checkpoint_timeout',
  'max_wal_size', 'min_wal_size', 'checkpoint_completion_target', 'wal_compression', 'wal_level',
  'autovacuum', 'autovacuum_vacuum_scale_factor', 'autovacuum_analyze_scale_factor',
  'shared_preload_libraries', 'password_encryption', 'ssl',
];

/** The booking tables that get per-table autovacuum advice. */
export const BUSY_TABLES = ['bookings', 'booking_allocations'];

export async function doctorQuery(name: string): Promise<string> {
  return normaliseSql(await readFile(join(packageRoot, 'sql', 'queries', 'doctor', `${name}.sql`), 'utf8'));
}

function parseReloptions(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i > 0) out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Collects the Facts; `appRole` is the app group role's name (prefix_app). */
export async function collectFacts(sql: Sql, options: { appRole: string; statementTimeoutMs: number }): Promise<Facts> {
  const names = ['server', 'settings', 'tables', 'app-logins', 'hba-rules', 'md5-verifiers'] as const;
  const text = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await doctorQuery(n)]))) as Record<(typeof names)[number], string>;
  return sql.begin('read only', async (tx) => {
    await setLocalTimeouts(tx, options.statementTimeoutMs, 1000);
    const [s] = await tx.unsafe(text.server);
    const settingRows = await tx.unsafe(text.settings, [DOCTOR_SETTINGS]);
    const tableRows = await tx.unsafe(text.tables, [BUSY_TABLES]);
    const logins = await tx.unsafe(text['app-logins'], [options.appRole]);
    const hba = s.reads_hba ? await tx.unsafe(text['hba-rules']) : null;
    const md5 = s.reads_authid ? await tx.unsafe(text['md5-verifiers']) : null;
    const settings: Record<string, SettingFact> = {};
    for (const r of settingRows) {
      settings[String(r.name)] = {
        name: String(r.name), setting: String(r.setting), unit: (r.unit as string | null) ?? null, vartype: String(r.vartype),
        context: String(r.context), source: String(r.source), pendingRestart: Boolean(r.pending_restart),
      };
    }
    return {
      server: {
        version: String(s.version),
        versionNum: Number(s.version_num),
        startedAt: new Date(s.started_at as string).toISOString(),
        uptimeSeconds: Number(s.uptime_seconds),
        database: String(s.database),
        databaseBytes: Number(s.database_bytes),
        role: String(s.role),
        superuser: Boolean(s.superuser),
        readsAllSettings: Boolean(s.reads_all_settings),
        serverAddr: (s.server_addr as string | null) ?? null,
        ssl: { on: Boolean(s.ssl), version: (s.ssl_version as string | null) ?? null, cipher: (s.ssl_cipher as string | null) ?? null },
        clientConnections: Number(s.client_connections),
      },
      settings,
      tables: tableRows.map((r) => ({ name: String(r.name), reloptions: parseReloptions(r.reloptions as string[]), estimatedRows: Number(r.estimated_rows), deadRows: Number(r.dead_rows) })),
      appLogins: logins.map((r) => ({ name: String(r.name), superuser: Boolean(r.superuser), bypassrls: Boolean(r.bypassrls) })),
      appRole: options.appRole,
      hba: hba
        ? { readable: true, rules: hba.map((r) => ({ lineNumber: Number(r.line_number), type: String(r.type), databases: (r.databases as string[] | null) ?? [], users: (r.users as string[] | null) ?? [], address: (r.address as string | null) ?? null, authMethod: (r.auth_method as string | null) ?? null, error: (r.error as string | null) ?? null })) }
        : { readable: false, rules: [] },
      md5Verifiers: md5 ? { readable: true, roles: md5.map((r) => String(r.name)) } : { readable: false, roles: [] },
    };
  }) as Promise<Facts>;
}
