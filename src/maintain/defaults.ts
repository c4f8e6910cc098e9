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
  retention: { months: 24, batchSize: 1000 },
} as const;

export interface MaintainSettings {
  lockTimeoutMs: number;
  lockAttempts: number;
  partitions: { monthsAhead: number; retentionMonths: number };
  prune: { runsRetentionDays: number; metricsRetentionDays?: number };
  retention: { months: number; batchSize: number };
}
