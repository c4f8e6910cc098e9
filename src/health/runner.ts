import type { Sql } from 'postgres';
import { isPgError, usageError } from '../errors.js';
import { CLIENT_MEASURES, type Measurement } from './client-checks.js';
import { findCheck, grade, HEALTH_CHECKS, worstStatus, type Category, type Direction, type HealthCheck, type HealthStatus } from './checks.js';
import type { HealthThreshold } from './config.js';

/**
 * The one runner: measures each selected check in a transaction of its own under
 * SET LOCAL statement_timeout and lock_timeout, so a check that is slow, blocked or
 * failing is UNKNOWN and the run goes on; grades it with the thresholds (config over
 * defaults). SQL checks call ops.health_metric(name), the function ops.health_check()
 * uses from psql, so both see the same numbers. Returns data; renderers print it.
 */
export interface HealthOptions {
  only?: string[];
  skip?: string[];
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  thresholds?: Partial<Record<string, HealthThreshold>>;
}

export interface CheckResult {
  name: string;
  category: Category;
  status: HealthStatus;
  value: number | null;
  unit: string;
  warning: number | null;
  critical: number | null;
  direction: Direction;
  detail: string;
  /** The one-line remedy, only for warning and critical. */
  remedy?: string;
  durationMs: number;
}

export interface HealthReport {
  status: HealthStatus;
  startedAt: string;
  durationMs: number;
  counts: Record<HealthStatus, number>;
  checks: CheckResult[];
}

/** The checks a run selects, in catalogue order; an unknown name is a usage error (exit 2). */
export function selectChecks(only: string[] = [], skip: string[] = []): HealthCheck[] {
  for (const name of [...only, ...skip]) {
    if (!findCheck(name)) throw usageError(`unknown health check "${name}"`, `known checks: ${HEALTH_CHECKS.map((c) => c.name).join(', ')}`);
  }
  return HEALTH_CHECKS.filter((c) => (only.length === 0 || only.includes(c.name)) && !skip.includes(c.name));
}

function describeFailure(error: unknown, statementTimeoutMs: number): string {
  if (isPgError(error)) {
    if (error.code === '57014') return `timed out after ${statementTimeoutMs} ms (statement_timeout)`;
    if (error.code === '55P03') return 'gave up waiting for a lock (lock_timeout)';
    if (error.code === '42883' || error.code === '3F000') return `ops.health_metric() is missing: run bookingdb deploy (${error.code})`;
    if (error.code === '42501') return `permission denied: run it as a LOGIN member of bookingdb_monitor (${error.message})`;
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function measure(sql: Sql, check: HealthCheck, statementTimeoutMs: number, lockTimeoutMs: number): Promise<Measurement> {
  const timeouts = `SET LOCAL statement_timeout = ${statementTimeoutMs}; SET LOCAL lock_timeout = ${lockTimeoutMs}`;
  if (check.source === 'client') {
    return (await sql.begin(async (tx) => {
      await tx.unsafe(timeouts);
      return CLIENT_MEASURES[check.name](tx as unknown as Sql);
    })) as Measurement;
  }
  // Returning the queries unawaited pipelines them after BEGIN: one round trip fewer
  // per check, which is most of a check's cost on a busy machine.
  const [, rows] = (await sql.begin((tx) => [
    tx.unsafe(timeouts),
    tx`select value::text as value, detail from ops.health_metric(${check.name})`,
  ])) as unknown as [unknown, { value: string | null; detail: string | null }[]];
  const row = rows[0];
  return { value: row.value === null ? null : Number(row.value), detail: String(row.detail ?? '') };
}

export async function runHealthCheck(sql: Sql, options: HealthOptions = {}): Promise<HealthReport> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 2000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 500;
  const checks = selectChecks(options.only, options.skip);
  const started = Date.now();
  const results: CheckResult[] = [];
  for (const check of checks) {
    const t = performance.now();
    const limits = options.thresholds?.[check.name] ?? {};
    const warning = limits.warning === undefined ? check.warning : limits.warning;
    const critical = limits.critical === undefined ? check.critical : limits.critical;
    let m: Measurement;
    let status: HealthStatus;
    try {
      m = await measure(sql, check, statementTimeoutMs, lockTimeoutMs);
      status = m.status ?? grade(m.value, warning, critical, check.direction);
    } catch (error) {
      m = { value: null, detail: describeFailure(error, statementTimeoutMs) };
      status = 'unknown';
    }
    results.push({
      name: check.name, category: check.category, status, value: m.value, unit: check.unit, warning, critical, direction: check.direction,
      detail: m.detail, ...(status === 'warning' || status === 'critical' ? { remedy: check.remedy } : {}),
      durationMs: Math.round((performance.now() - t) * 10) / 10,
    });
  }
  const counts = { ok: 0, warning: 0, critical: 0, unknown: 0 } as Record<HealthStatus, number>;
  for (const r of results) counts[r.status]++;
  return {
    status: worstStatus(results.map((r) => r.status)), startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started, counts, checks: results,
  };
}
