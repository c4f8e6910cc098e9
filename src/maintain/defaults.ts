/**
 * The defaults of the `maintain` config section, without zod (the command loads the
 * schema, ./config.ts, only to validate a config file: a cron run stays lean).
 * prune.metricsRetentionDays unset means the metrics section's retentionDays (14).
 */
export const MAINTAIN_DEFAULTS = {
  lockTimeoutMs: 2000,
  lockAttempts: 3,
  partitions: { monthsAhead: 3, retentionMonths: 13 },
  prune: { runsRetentionDays: 90, metricsRetentionDays: undefined as number | undefined },
  vacuum: { deadRatio: 0.1, minDeadTuples: 1000, analyzeRatio: 0.1, freezeAge: 100_000_000, tableTimeoutMs: 3_600_000, costDelayMs: 2, costLimit: 200 },
  reindex: { bloatRatio: 2, minSizeMb: 10, exclusionBloatRatio: 3.6, indexTimeoutMs: 3_600_000 },
  idleSessions: { idleThresholdSeconds: 600 },
  retention: { months: 24, batchSize: 1000 },
  refresh: { pauseRatio: 2, tenantTimeoutMs: 300_000 },
} as const;

export interface MaintainSettings {
  lockTimeoutMs: number;
  lockAttempts: number;
  partitions: { monthsAhead: number; retentionMonths: number };
  prune: { runsRetentionDays: number; metricsRetentionDays?: number };
  vacuum: { deadRatio: number; minDeadTuples: number; analyzeRatio: number; freezeAge: number; tableTimeoutMs: number; costDelayMs: number; costLimit: number };
  reindex: { bloatRatio: number; minSizeMb: number; exclusionBloatRatio: number; indexTimeoutMs: number };
  idleSessions: { idleThresholdSeconds: number };
  retention: { months: number; batchSize: number };
  refresh: { pauseRatio: number; tenantTimeoutMs: number };
}
