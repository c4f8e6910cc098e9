import { z } from 'zod';

/**
 * The `slowQueries` section of the config file (merged into the one schema later).
 * Flags override it: `--limit`, `--min-ms`. Grades are the documented defaults of
 * ./grade.ts; only the dominant-share threshold and the statement timeout are tunable.
 */
export const slowQueriesConfigSchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(10).describe('statements per list (--limit)'),
    minMs: z.number().min(0).max(3_600_000).default(0).describe('only statements whose mean execution time is at least this many ms (--min-ms)'),
    statementTimeoutMs: z.number().int().min(100).max(60_000).default(5000).describe('statement_timeout of the pg_stat_statements read'),
  })
  .strict();

export type SlowQueriesConfig = z.infer<typeof slowQueriesConfigSchema>;
