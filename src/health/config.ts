import { z } from 'zod';
import { CHECK_NAMES } from './checks.js';

/**
 * The `healthCheck` section of the config file (to be plugged into the one config
 * schema). Thresholds per check name override the built-in defaults; `null` switches a
 * level off (e.g. `{ "warning": null }` makes a check critical-only). A mistyped check
 * name is an error naming its path.
 *
 *   "healthCheck": {
 *     "statementTimeoutMs": 2000, "lockTimeoutMs": 500,
 *     "thresholds": { "connections": { "warning": 70, "critical": 90 } },
 *     "skip": ["pg-stat-statements"]
 *   }
 */
export const healthThresholdSchema = z.strictObject({
  warning: z.number().nullable().optional(),
  critical: z.number().nullable().optional(),
});

export const healthCheckConfigSchema = z.strictObject({
  /** statement_timeout of each check's transaction. */
  statementTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
  /** lock_timeout of each check's transaction: a check never queues behind DDL for long. */
  lockTimeoutMs: z.number().int().min(10).max(60_000).default(500),
  thresholds: z.partialRecord(z.enum(CHECK_NAMES), healthThresholdSchema).default({}),
  /** Checks never run (as --skip). */
  skip: z.array(z.enum(CHECK_NAMES)).default([]),
});

export type HealthCheckConfig = z.infer<typeof healthCheckConfigSchema>;
export type HealthThreshold = z.infer<typeof healthThresholdSchema>;

/** Parses the section; errors name the key path (e.g. thresholds.conections). */
export function parseHealthCheckConfig(input: unknown): HealthCheckConfig {
  return healthCheckConfigSchema.parse(input ?? {});
}
