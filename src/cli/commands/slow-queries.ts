import type { Command } from 'commander';
import { action, withTargetSql } from './action.js';
import { renderTable } from '../output.js';
import { usageError } from '../../errors.js';
import { parseInteger } from '../../validate.js';

/** Parses --min-ms: a non-negative decimal number of milliseconds. */
function parseMinMs(value: string): number {
  if (!/^\d{1,9}(\.\d{1,3})?$/.test(value)) throw usageError(`--min-ms must be a number of milliseconds from 0 (e.g. 5 or 0.5), got "${value}"`);
  return Number(value);
}

export function registerSlowQueries(program: Command): void {
  program.command('slow-queries').description('the heaviest statements of this database from pg_stat_statements, graded A-F')
    .option('--limit <n>', 'statements per list (default 10)')
    .option('--min-ms <ms>', 'only statements whose mean execution time is at least this (default 0)')
    .option('--sort <key>', 'one list sorted by total, mean or calls (default: two lists, by total and by mean time)')
    .addHelpText('after', '\nexamples:\n  bookingdb slow-queries\n  bookingdb slow-queries --sort mean --min-ms 20 --limit 5\n  bookingdb slow-queries --json   # full query text')
    .action(action(async (ctx, opts) => {
      const { listSlowQueries, SORT_KEYS } = await import('../../slow-queries/slow-queries.js');
      const { slowQueriesConfigSchema } = await import('../../slow-queries/config.js');
      const defaults = ctx.config.slowQueries ?? slowQueriesConfigSchema.parse({}); // flags > config section > defaults
      if (opts.sort !== undefined && !SORT_KEYS.includes(opts.sort)) throw usageError(`--sort must be one of ${SORT_KEYS.join(', ')}, got "${opts.sort}"`);
      const options = {
        limit: opts.limit === undefined ? defaults.limit : parseInteger('--limit', String(opts.limit), { min: 1, max: 1000 }),
        minMs: opts.minMs === undefined ? defaults.minMs : parseMinMs(String(opts.minMs)),
        sort: opts.sort,
        statementTimeoutMs: defaults.statementTimeoutMs,
      };
      const { renderSlowQueries } = await import('../../slow-queries/render.js');
      await withTargetSql(ctx, async (sql) => {
        const report = await listSlowQueries(sql, options);
        await ctx.out.result({ ok: true, ...report }, () => renderSlowQueries(report, renderTable));
      });
    }));
}
