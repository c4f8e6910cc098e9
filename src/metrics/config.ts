import { z } from 'zod';
import { METRICS_DEFAULTS as D, TENANT_LABELS_PATTERN } from './defaults.js';

export { parseTenantLabels, TENANT_LABELS_PATTERN, type TenantLabels } from './defaults.js';

/**
 * The `metrics` section of bookingdb.config.json (to be plugged into the one config
 * schema). Flags override it; the command takes the parsed values as plain options.
 * Defaults live in ./defaults.ts so the command can run without loading zod.
 */
export const metricsConfigSchema = z.object({
  /** Per-tenant labels: none, all, or top:N (the N busiest tenants, the rest summed as tenant="other"). */
  tenantLabels: z.string().regex(TENANT_LABELS_PATTERN, 'must be none, all or top:N (N from 1 to 9999)').default(D.tenantLabels),
  /** The longest window the booking counters read back, also the window when no snapshot is stored yet. */
  windowMinutes: z.number().int().min(1).max(1440).default(D.windowMinutes),
  /** A transaction open longer than this no longer holds the counters' window back. */
  transactionLagSeconds: z.number().int().min(0).max(600).default(D.transactionLagSeconds),
  /** How many of the largest relations to report. */
  topRelations: z.number().int().min(1).max(100).default(D.topRelations),
  /** statement_timeout and lock_timeout of every metrics statement (SET LOCAL). */
  statementTimeoutMs: z.number().int().min(100).max(60_000).default(D.statementTimeoutMs),
  lockTimeoutMs: z.number().int().min(10).max(10_000).default(D.lockTimeoutMs),
  /** How long `maintain` keeps stored snapshots (the newest is always kept). */
  retentionDays: z.number().int().min(1).max(3650).default(D.retentionDays),
  serve: z.object({
    host: z.string().min(1).default(D.serve.host),
    port: z.number().int().min(0).max(65535).default(D.serve.port),
    /** A scrape within this many seconds of the last database round is answered from it. */
    cacheSeconds: z.number().min(0).max(300).default(D.serve.cacheSeconds),
  }).strict().prefault({}),
}).strict();

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;

/** The defaults, as the config file would give them with no `metrics` section. */
export function defaultMetricsConfig(): MetricsConfig {
  return metricsConfigSchema.parse({});
}
