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
 *     "vacuum": { "deadRatio": 0.1, "minDeadTuples": 1000, "analyzeRatio": 0.1, "freezeAge": 100000000,
 *                 "costDelayMs": 2, "costLimit": 200 },
 *     "reindex": { "bloatRatio": 2, "minSizeMb": 10 }, "idleSessions": { "idleThresholdSeconds": 600 },
 *     "retention": { "months": 24, "batchSize": 1000 }, "refresh": { "pauseRatio": 2, "tenantTimeoutMs": 300000 } }
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
  refresh: z.strictObject({
    pauseRatio: z.number().min(0).max(20).default(D.refresh.pauseRatio)
      .describe('after staging one tenant\'s reporting rows, pause this many times as long as that took (default 2: the staging uses at most a third of one core); 0 runs unpaced'),
    tenantTimeoutMs: z.number().int().min(1000).max(86_400_000).default(D.refresh.tenantTimeoutMs)
      .describe('statement_timeout of staging one tenant\'s rows of one view (default 300000)'),
  }).prefault({}).describe('the refresh task'),
  vacuum: z.strictObject({
    deadRatio: z.number().min(0).max(1).default(D.vacuum.deadRatio)
      .describe('VACUUM (ANALYZE) a table whose dead tuples are this share of its live + dead tuples (default 0.1)'),
    minDeadTuples: z.number().int().min(0).default(D.vacuum.minDeadTuples)
      .describe('and at least this many dead tuples, or changes since the last analyze (default 1000)'),
    analyzeRatio: z.number().min(0).max(100).default(D.vacuum.analyzeRatio)
      .describe('VACUUM (ANALYZE) a table changed by this share of its live tuples since its last analyze (default 0.1)'),
    freezeAge: z.number().int().min(100_000).max(2_000_000_000).default(D.vacuum.freezeAge)
      .describe('VACUUM (FREEZE) a table whose age(relfrozenxid) reaches this, oldest first (default 100000000)'),
    tableTimeoutMs: z.number().int().min(1000).max(86_400_000).default(D.vacuum.tableTimeoutMs)
      .describe('statement_timeout of one VACUUM when --max-duration leaves more (default 3600000)'),
    costDelayMs: z.number().min(0).max(100).default(D.vacuum.costDelayMs)
      .describe('vacuum_cost_delay of each VACUUM, in ms: throttled like autovacuum (default 2, as autovacuum_vacuum_cost_delay); 0 runs unthrottled'),
    costLimit: z.number().int().min(1).max(10_000).default(D.vacuum.costLimit)
      .describe('vacuum_cost_limit of each VACUUM: the cost after which it sleeps costDelayMs (default 200, as autovacuum)'),
  }).prefault({}).describe('the vacuum task'),
  reindex: z.strictObject({
    bloatRatio: z.number().min(1).max(100).default(D.reindex.bloatRatio)
      .describe('REINDEX CONCURRENTLY a btree index whose estimated size is this many times the expected one (default 2)'),
    minSizeMb: z.number().min(0).max(1_000_000).default(D.reindex.minSizeMb)
      .describe('indexes smaller than this many MiB are left alone (default 10)'),
    exclusionBloatRatio: z.number().min(1).max(100).default(D.reindex.exclusionBloatRatio)
      .describe('with --allow-blocking, REINDEX (blocking) an exclusion-constraint index estimated this bloated (default 3.6: a fresh GiST index reads ~1.8)'),
    indexTimeoutMs: z.number().int().min(1000).max(86_400_000).default(D.reindex.indexTimeoutMs)
      .describe('statement_timeout of one REINDEX when --max-duration leaves more (default 3600000)'),
  }).prefault({}).describe('the reindex task'),
  idleSessions: z.strictObject({
    idleThresholdSeconds: z.number().int().min(1).max(86_400).default(D.idleSessions.idleThresholdSeconds)
      .describe('terminate sessions idle in transaction longer than this many seconds (default 600)'),
  }).prefault({}).describe('the opt-in idle-sessions task'),
});

export type MaintainConfig = z.infer<typeof maintainConfigSchema>;
