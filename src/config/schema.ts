import { z } from 'zod';
import { DURATION_TEXT, RANGES, parseDurationMs, rolePrefixProblem } from './ranges.js';
import type { IntegerRange } from '../validate.js';
import { healthCheckConfigSchema } from '../health/config.js';
import { metricsConfigSchema } from '../metrics/config.js';
import { slowQueriesConfigSchema } from '../slow-queries/config.js';
import { doctorConfigSchema } from '../doctor/config.js';
import { maintainConfigSchema } from '../maintain/config.js';
import { scheduleConfigSchema } from '../schedule/config.js';

/**
 * The one schema of bookingdb.config.json: validation (strict at every level, so a
 * mistyped key anywhere is an error naming its path), the TypeScript type, and the
 * JSON Schema editors read through `$schema` (`configJsonSchema`). Later sections
 * (healthCheck, maintain, backup, schedule) are added here the same way.
 * Loaded only when a config file exists: zod is too heavy for `--help`.
 */
/** An age X25519 recipient: "age1" and 58 bech32 characters. */
export const AGE_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

const int = (r: IntegerRange, description: string) =>
  z.number().int().min(r.min).max(r.max).describe(`${description} (${r.min} to ${r.max}${r.unit ? ` ${r.unit}` : ''})`);

export const configSchema = z.strictObject({
  $schema: z.string().optional().describe('the JSON Schema of this file, for editors'),
  databaseUrl: z.string().min(1).optional().describe('postgres:// URL of the target database (else the local cluster); better without a password (use ~/.pgpass)'),
  rolePrefix: z
    .string()
    .refine((v) => rolePrefixProblem(v) === undefined, { error: (issue) => rolePrefixProblem(String(issue.input)) ?? 'invalid role prefix' })
    .optional()
    .describe('prefix of the group roles (default bookingdb)'),
  connectTimeoutSeconds: int(RANGES.connectTimeoutSeconds, 'seconds the whole connection handshake may take (default 10)').optional(),
  lockWaitSeconds: int(RANGES.lockWaitSeconds, 'seconds to wait for another deploy to finish (default 60)').optional(),
  lockTimeoutMs: int(RANGES.lockTimeoutMs, 'lock_timeout for DDL in ms (default 5000)').optional(),
  local: z
    .strictObject({
      port: int(RANGES.localPort, 'TCP port of the local cluster on 127.0.0.1 (default 54329)').optional(),
      dir: z.string().min(1).optional().describe('directory of the local cluster (default .bookingdb/local)'),
    })
    .optional()
    .describe('the embedded local cluster'),
  roles: z
    .strictObject({
      appStatementTimeout: z
        .string()
        .refine((v) => parseDurationMs(v) !== undefined, { error: `must be ${DURATION_TEXT}` })
        .optional()
        .describe(`statement_timeout of the app login roles (default "5s"): ${DURATION_TEXT}`),
    })
    .optional()
    .describe('login roles made by `bookingdb roles create`'),
  healthCheck: healthCheckConfigSchema.optional().describe('`bookingdb health-check`: thresholds per check name, timeouts, checks to skip'),
  metrics: metricsConfigSchema.optional().describe('`bookingdb metrics`: tenant labels, window, timeouts, retention, `metrics serve`'),
  slowQueries: slowQueriesConfigSchema.optional().describe('`bookingdb slow-queries`: list length, minimum mean time, timeout'),
  doctor: doctorConfigSchema.optional().describe("`bookingdb doctor`: the database server's machine, when it is not this one"),
  maintain: maintainConfigSchema.optional().describe('`bookingdb maintain`: lock_timeout and attempts, partitions ahead and retention, prune retention'),
  backup: z
    .strictObject({
      dir: z.string().min(1).optional().describe('directory of the backups (default ./backups)'),
      keepDaily: z.number().int().min(0).max(366).optional().describe('daily backups to keep (0 to 366, default 7)'),
      keepWeekly: z.number().int().min(0).max(520).optional().describe('weekly backups to keep (0 to 520, default 4)'),
      keepMonthly: z.number().int().min(0).max(1200).optional().describe('monthly backups to keep (0 to 1200, default 12)'),
      encryptTo: z.array(z.string().regex(AGE_RECIPIENT, { error: 'must be an age public key (age1 followed by 58 characters)' })).optional()
        .describe('age public keys (age1...) the backups are encrypted to; none: not encrypted'),
      timeZone: z.string().refine((v) => { try { new Intl.DateTimeFormat('en-US', { timeZone: v }); return true; } catch { return false; } }, { error: 'must be an IANA time zone such as Europe/Berlin' }).optional()
        .describe('time zone whose days, weeks and months retention counts (default: this machine\'s)'),
    })
    .optional()
    .describe('`bookingdb backup`: where backups go, how many are kept, who can decrypt them'),
  schedule: scheduleConfigSchema.optional().describe('`bookingdb schedule`: a cron expression per task (null switches it off) and the shutdown timeout'),
});

export type ConfigFile = z.infer<typeof configSchema>;

/** The JSON Schema of the config file (for `bookingdb config schema` and editors). */
export function configJsonSchema(): Record<string, unknown> {
  // io: 'input': what a person writes (keys with defaults are optional), not the parsed result
  return z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}

const RANGE_BY_PATH: Record<string, IntegerRange> = {
  connectTimeoutSeconds: RANGES.connectTimeoutSeconds,
  lockWaitSeconds: RANGES.lockWaitSeconds,
  lockTimeoutMs: RANGES.lockTimeoutMs,
  'local.port': RANGES.localPort,
};

function knownKeys(path: PropertyKey[]): string[] {
  let shape: Record<string, z.ZodType> = configSchema.shape as never;
  for (const key of path) {
    let next = shape[String(key)];
    while (next instanceof z.ZodOptional) next = next.unwrap() as z.ZodType;
    if (!(next instanceof z.ZodObject)) return [];
    shape = next.shape as never;
  }
  return Object.keys(shape).filter((k) => k !== '$schema');
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

/** Validates a parsed config file; the error names the key path and the allowed values. */
export function validateConfig(input: unknown): { ok: true; config: ConfigFile } | { ok: false; message: string; hint: string } {
  const result = configSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  const issue = result.error.issues[0];
  if (!issue) return { ok: false, message: 'invalid config file', hint: 'fix the file' };
  const others = new Set(result.error.issues.slice(1).map((i) => i.path.join('.')).filter((p) => p !== issue.path.join('.'))).size;
  const more = others ? ` (and ${others} more)` : '';
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [...issue.path.map(String), issue.keys[0]].join('.');
    const known = knownKeys(issue.path);
    const hint = known.length ? `known keys${at ? ` in ${at}` : ''}: ${known.join(', ')}` : 'see `bookingdb config schema` for the keys allowed there';
    return { ok: false, message: `unknown key "${key}"${more}`, hint };
  }
  const got = JSON.stringify(valueAt(input, issue.path));
  const range = RANGE_BY_PATH[at];
  if (range) {
    return { ok: false, message: `${at} must be a whole number from ${range.min} to ${range.max}${range.unit ? ` (${range.unit})` : ''}, got ${got}${more}`, hint: 'fix the value in the config file' };
  }
  if (issue.code === 'invalid_type') {
    return { ok: false, message: `${at || 'the file'} must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}, got ${got}${more}`, hint: 'fix the value in the config file' };
  }
  return { ok: false, message: `${at}: ${issue.message}, got ${got}${more}`, hint: 'fix the value in the config file' };
}
