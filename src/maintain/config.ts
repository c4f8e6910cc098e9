import { z } from 'zod';
import { MAINTAIN_DEFAULTS as D } from './defaults.js';

/**
 * The `maintain` section of bookingdb.config.json (plugged into src/config/schema.ts).
 * Strict at every level, so a mistyped key is an error naming its path. Each task
 * gets its own sub-section as MaintainTaskContext.options.
 *
 *   "maintain": { "lockTimeoutMs": 2000, "lockAttempts": 3,
 *     "partitions": { "monthsAhead": 3, "retentionMonths": 13 },
 *     "prune": { "runsRetentionDays": 90, "metricsRetentionDays": 14 },
 *     "retention": { "months": 24, "batchSize": 1000 } }
 */
export const maintainConfigSchema = z.strictObject({
  /** lock_timeout of every statement a task runs that takes a lock. */
  lockTimeoutMs: z.number().int().min(10).max(60_000).default(D.lockTimeoutMs)
    .describe('lock_timeout in ms of every maintenance statement that takes a lock (default 2000)'),
  /** Attempts after a lock_timeout before the task is reported skipped. */
  lockAttempts: z.number().int().min(1).max(10).default(D.lockAttempts)
    .describe('attempts when a statement hits lock_timeout before the task is skipped (default 3)'),
  partitions: z.strictObject({
    monthsAhead: z.number().int().min(0).max(60).default(D.partitions.monthsAhead)
      .describe('audit-log partitions created ahead of the current month (default 3)'),
    retentionMonths: z.number().int().min(1).max(1200).default(D.partitions.retentionMonths)
      .describe('months of audit log kept; older monthly partitions are dropped (default 13)'),
  }).prefault({}).describe('the partitions task'),
  prune: z.strictObject({
    runsRetentionDays: z.number().int().min(1).max(36_500).default(D.prune.runsRetentionDays)
      .describe('days of ops.runs history kept (default 90); running runs are never deleted'),
    metricsRetentionDays: z.number().int().min(1).max(3650).optional()
      .describe('days of stored metric snapshots kept (default: metrics.retentionDays, 14)'),
  }).prefault({}).describe('the prune task'),
  retention: z.strictObject({
    months: z.number().int().min(1).max(1200).default(D.retention.months)
      .describe('months without booking activity after which a customer is anonymised, unless the tenant sets booking.tenants.customer_retention (default 24)'),
    batchSize: z.number().int().min(1).max(100_000).default(D.retention.batchSize)
      .describe('customers per transaction (default 1000)'),
  }).prefault({}).describe('the retention task (GDPR anonymisation)'),
});

export type MaintainConfig = z.infer<typeof maintainConfigSchema>;
