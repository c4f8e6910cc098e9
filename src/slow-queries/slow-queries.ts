import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { isPgError, preconditionError } from '../errors.js';
import { quoteIdent } from '../db/ident.js';
import { packageRoot } from '../paths.js';
import { normaliseSql } from '../sql-files.js';
import { redactLiterals } from '../db/redact-literals.js';
import { DEFAULT_GRADING, gradeStatement, type Grade, type GradingOptions } from './grade.js';

/**
 * `bookingdb slow-queries`: the heaviest statements of the current database from
 * pg_stat_statements, graded A-F (./grade.ts). Read-only: one short read-only
 * transaction under statement_timeout and lock_timeout. Works as a LOGIN member of
 * bookingdb_monitor (pg_monitor includes pg_read_all_stats, which shows every role's
 * query text; without it other roles' text reads `<insufficient privilege>`).
 * Missing extension or library: a precondition error (exit 4) whose hint is the exact
 * line for postgresql.conf and the CREATE EXTENSION to run.
 */
export type SortKey = 'total' | 'mean' | 'calls';
export const SORT_KEYS: SortKey[] = ['total', 'mean', 'calls'];

export interface SlowQueriesOptions {
  limit: number;
  minMs: number;
  /** One list sorted by this key; undefined gives two lists, by total and by mean time. */
  sort?: SortKey;
  statementTimeoutMs: number;
  grading?: GradingOptions;
}

export interface SlowStatement {
  queryid: string;
  toplevel: boolean;
  /**
   * PostgreSQL's normalised text (constants are $n), in full; constants pg_stat_statements
   * kept (raw entries, utility statements) are replaced here the same way (src/db/redact-literals.ts).
   */
  query: string;
  /** How many constants this tool replaced because pg_stat_statements had kept them (0 normally). */
  literalsRedacted: number;
  calls: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
  rows: number;
  /** shared_blks_hit / (hit + read); null when it touched no shared buffers. */
  hitRatio: number | null;
  tempBlksWritten: number;
  /** Share (0..1) of the database's total execution time. */
  share: number | null;
  grade: Grade;
  gradeReason: string;
  roles: string[];
}

export interface SlowQueryList {
  sort: SortKey;
  statements: SlowStatement[];
}

export interface SlowQueriesReport {
  database: string;
  extension: { schema: string; version: string };
  /** When pg_stat_statements last started counting (null if unknown). */
  statsSince: string | null;
  /** Statements pg_stat_statements evicted for lack of room since then. */
  evicted: number | null;
  /** Statements of this database and their total execution time (before filters). */
  databaseStatements: number;
  databaseTotalMs: number;
  limit: number;
  minMs: number;
  lists: SlowQueryList[];
}

async function queryText(name: string): Promise<string> {
  return normaliseSql(await readFile(join(packageRoot, 'sql', 'queries', 'slow-queries', `${name}.sql`), 'utf8'));
}

function splitList(value: string | null): string[] {
  return (value ?? '').split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean);
}

/**
 * The postgresql.conf line that adds pg_stat_statements to the libraries already
 * preloaded (the current value, when readable, is kept: replacing it would drop them).
 */
export function preloadLine(current: string | null): string {
  const libs = splitList(current).filter((l) => l !== 'pg_stat_statements');
  return `shared_preload_libraries = '${[...libs, 'pg_stat_statements'].join(',')}'`;
}

/** The exit-4 error for a server or database without a usable pg_stat_statements. */
export function notLoadedError(state: { installed: boolean; preloaded: boolean | null; preload: string | null }) {
  const create = 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA ext;';
  const conf = `add to postgresql.conf: ${preloadLine(state.preload)}  (then restart the server)`;
  if (!state.installed) {
    const steps = state.preloaded === true
      ? [`run in this database as its owner or a superuser: ${create}`, '(shared_preload_libraries already includes pg_stat_statements)']
      : [conf, `then run in this database: ${create}`];
    if (state.preloaded === null) steps.push('(could not read shared_preload_libraries as this role: check it as a superuser)');
    return preconditionError('pg_stat_statements_missing', 'the pg_stat_statements extension is not installed in this database', steps.join('\n'));
  }
  return preconditionError('pg_stat_statements_not_loaded', 'pg_stat_statements is installed but not loaded: it is not in shared_preload_libraries', conf);
}

function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

function toStatement(r: Record<string, unknown>, grading: GradingOptions): SlowStatement {
  const hit = num(r.blks_hit);
  const read = num(r.blks_read);
  const hitRatio = hit + read > 0 ? hit / (hit + read) : null;
  const meanMs = num(r.mean_ms);
  const share = r.share === null || r.share === undefined ? null : Number(r.share);
  const { grade, reason } = gradeStatement({ meanMs, hitRatio, share }, grading);
  const text = redactLiterals(String(r.query));
  return {
    queryid: String(r.queryid),
    toplevel: Boolean(r.toplevel),
    query: text.text,
    literalsRedacted: text.redacted,
    calls: num(r.calls),
    totalMs: num(r.total_ms),
    meanMs,
    maxMs: num(r.max_ms),
    rows: num(r.rows),
    hitRatio,
    tempBlksWritten: num(r.temp_blks_written),
    share,
    grade,
    gradeReason: reason,
    roles: (r.roles as string[] | null) ?? [],
  };
}

/** Reads and grades the statements; see the module comment. */
export async function listSlowQueries(sql: Sql, options: SlowQueriesOptions): Promise<SlowQueriesReport> {
  const grading = options.grading ?? DEFAULT_GRADING;
  const sorts: SortKey[] = options.sort ? [options.sort] : ['total', 'mean'];
  const [preflightSql, statementsSql, infoSql] = await Promise.all(['extension', 'statements', 'stats-reset'].map(queryText));
  return sql.begin('read only', async (tx) => {
    // one marked statement, so the tool's own settings stay out of the list too
    await tx.unsafe("/* bookingdb slow-queries */ select pg_catalog.set_config('statement_timeout', $1, true), pg_catalog.set_config('lock_timeout', '1000', true)",
      [String(Math.trunc(options.statementTimeoutMs))]);
    const [pre] = await tx.unsafe(preflightSql);
    const preload = (pre.preload as string | null) ?? null;
    const preloaded = preload === null ? null : splitList(preload).includes('pg_stat_statements');
    if (pre.schema === null) throw notLoadedError({ installed: false, preloaded, preload });
    if (preloaded === false) throw notLoadedError({ installed: true, preloaded, preload });
    const schema = quoteIdent(String(pre.schema));
    const view = `${schema}.pg_stat_statements`;
    let info: Record<string, unknown> | undefined;
    let rows: Record<string, unknown>[];
    try {
      [info] = await tx.unsafe(infoSql.replaceAll('@pgss_info@', `${schema}.pg_stat_statements_info`));
      rows = await tx.unsafe(statementsSql.replaceAll('@pgss@', view), [options.minMs, options.limit, sorts]);
    } catch (error) {
      // 55000: "pg_stat_statements must be loaded via shared_preload_libraries"
      if (isPgError(error) && error.code === '55000' && /shared_preload_libraries/.test(error.message)) {
        throw notLoadedError({ installed: true, preloaded: false, preload });
      }
      throw error;
    }
    const statements = rows.filter((r) => r.queryid !== null).map((r) => ({ r, s: toStatement(r, grading) }));
    const lists: SlowQueryList[] = sorts.map((sort) => ({
      sort,
      statements: statements
        .filter(({ r }) => Number(r[`rank_${sort}`]) <= options.limit)
        .sort((a, b) => Number(a.r[`rank_${sort}`]) - Number(b.r[`rank_${sort}`]))
        .map(({ s }) => s),
    }));
    return {
      database: String(pre.database),
      extension: { schema: String(pre.schema), version: String(pre.version) },
      statsSince: info?.stats_reset ? new Date(info.stats_reset as string).toISOString() : null,
      evicted: info ? num(info.dealloc) : null,
      databaseStatements: num(rows[0]?.database_statements),
      databaseTotalMs: num(rows[0]?.database_total_ms),
      limit: options.limit,
      minMs: options.minMs,
      lists,
    };
  }) as Promise<SlowQueriesReport>;
}
