import { usageError } from '../errors.js';

/**
 * The defaults of the `metrics` config section and the --tenant-labels parser, without
 * zod: importing zod costs ~150 ms, a quarter of a `metrics --store` cron run, so the
 * command only loads the schema (./config.ts) to validate a config file.
 */
export const METRICS_DEFAULTS = {
  tenantLabels: 'top:20',
  windowMinutes: 60,
  transactionLagSeconds: 60,
  topRelations: 10,
  statementTimeoutMs: 2000,
  lockTimeoutMs: 500,
  retentionDays: 14,
  serve: { host: '127.0.0.1', port: 9187, cacheSeconds: 5 },
} as const;

export const TENANT_LABELS_PATTERN = /^(none|all|top:([1-9][0-9]{0,3}))$/;

export type TenantLabels = { mode: 'none' } | { mode: 'all' } | { mode: 'top'; n: number };

/** Parses --tenant-labels / metrics.tenantLabels; exit 2 when malformed. */
export function parseTenantLabels(value: string, source = '--tenant-labels'): TenantLabels {
  const m = TENANT_LABELS_PATTERN.exec(value);
  if (!m) throw usageError(`${source} must be none, all or top:N (N from 1 to 9999), got "${value}"`, 'e.g. --tenant-labels top:20');
  if (m[1] === 'none') return { mode: 'none' };
  if (m[1] === 'all') return { mode: 'all' };
  return { mode: 'top', n: Number(m[2]) };
}
