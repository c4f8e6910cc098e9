import { z } from 'zod';
import { usageError } from '../errors.js';

/**
 * The `metrics` section of bookingdb.config.json (to be plugged into the one config
 * schema). Flags override it; the command takes the parsed values as plain options.
 */
export const TENANT_LABELS_PATTERN = /^(none|all|top:([1-9][0-9]{0,3}))$/;

export const metricsConfigSchema = z.object({
  /** Per-tenant labels: none, all, or top:N (the N busiest tenants, the rest summed as tenant="other"). */
  tenantLabels: z.string().regex(TENANT_LABELS_PATTERN, 'must be none, all or top:N (N from 1 to 9999)').default('top:20'),
  /** The longest window the booking counters read back, also the window when no snapshot is stored yet. */
  windowMinutes: z.number().int().min(1).max(1440).default(60),
  /** A transaction open longer than this no longer holds the counters' window back. */
  transactionLagSeconds: z.number().int().min(0).max(600).default(60),
  /** How many of the largest relations to report. */
  topRelations: z.number().int().min(1).max(100).default(10),
  /** statement_timeout and lock_timeout of every metrics statement (SET LOCAL). */
  statementTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
  lockTimeoutMs: z.number().int().min(10).max(10_000).default(500),
  /** How long `maintain` keeps stored snapshots (the newest is always kept). */
  retentionDays: z.number().int().min(1).max(3650).default(14),
  serve: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9187),
    /** A scrape within this many seconds of the last database round is answered from it. */
    cacheSeconds: z.number().min(0).max(300).default(5),
  }).strict().prefault({}),
}).strict();

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;

/** The defaults, as the config file would give them with no `metrics` section. */
export function defaultMetricsConfig(): MetricsConfig {
  return metricsConfigSchema.parse({});
}

export type TenantLabels = { mode: 'none' } | { mode: 'all' } | { mode: 'top'; n: number };

/** Parses --tenant-labels / metrics.tenantLabels; exit 2 when malformed. */
export function parseTenantLabels(value: string, source = '--tenant-labels'): TenantLabels {
  const m = TENANT_LABELS_PATTERN.exec(value);
  if (!m) throw usageError(`${source} must be none, all or top:N (N from 1 to 9999), got "${value}"`, 'e.g. --tenant-labels top:20');
  if (m[1] === 'none') return { mode: 'none' };
  if (m[1] === 'all') return { mode: 'all' };
  return { mode: 'top', n: Number(m[2]) };
}
