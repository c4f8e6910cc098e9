import type { Command } from 'commander';
import { createContext, type Context, type GlobalOptions } from '../context.js';
import { renderTable } from '../output.js';
import { BookingDbError, ExitCode, usageError } from '../../errors.js';
import { parseInteger } from '../../validate.js';

/**
 * `bookingdb metrics` and `bookingdb metrics serve`. Own action wrapper rather than
 * action(): that one reads a `--port` flag as the local cluster's port, and here
 * `--port` is the scrape endpoint's.
 */
function metricsAction(fn: (ctx: Context, opts: Record<string, any>) => Promise<number | void>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Record<string, any>;
    const ctx = await createContext(opts as GlobalOptions);
    const code = await fn(ctx, opts);
    if (typeof code === 'number') process.exitCode = code;
  };
}

async function open(ctx: Context) {
  const { connect } = await import('../../db/connect.js');
  const target = await ctx.target();
  // two connections: `--store` holds one for its ops.runs row while the other collects
  return connect(target.url, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 2 });
}

async function settings(ctx: Context, opts: Record<string, any>) {
  // the config file's metrics section (validated, defaults filled in), else plain
  // defaults: zod loads only when there is a config file
  const { METRICS_DEFAULTS, parseTenantLabels } = await import('../../metrics/defaults.js');
  const config = ctx.config.metrics ?? METRICS_DEFAULTS;
  const tenantLabels = parseTenantLabels(opts.tenantLabels ?? config.tenantLabels);
  const collect = {
    windowMinutes: config.windowMinutes, transactionLagSeconds: config.transactionLagSeconds,
    topRelations: config.topRelations, statementTimeoutMs: config.statementTimeoutMs, lockTimeoutMs: config.lockTimeoutMs,
  };
  return { config, tenantLabels, collect };
}

export function registerMetrics(program: Command): void {
  const metrics = program.command('metrics')
    .description('a snapshot of server and booking metrics; --store records it in ops (for cron)')
    .option('--format <format>', 'table, json or prometheus (default table; --json means json)')
    .option('--store', 'write the snapshot into ops.metric_snapshots and record the run in ops.runs')
    .option('--tenant-labels <mode>', 'per-tenant series: none, all or top:N (default top:20; the rest summed as tenant="other")')
    .addHelpText('after', '\nexamples:\n  bookingdb metrics --format prometheus --tenant-labels top:10\n  */5 * * * * bookingdb metrics --store --quiet   # crontab')
    .action(metricsAction(async (ctx, opts) => {
      const format = opts.json ? 'json' : String(opts.format ?? 'table');
      if (!['table', 'json', 'prometheus'].includes(format)) throw usageError(`--format must be table, json or prometheus, got "${format}"`);
      const { tenantLabels, collect } = await settings(ctx, opts);
      const sql = await open(ctx);
      try {
        let snapshot;
        let stored: { snapshotId?: number; runId: number; status: string } | undefined;
        if (opts.store) {
          const { storeSnapshot } = await import('../../metrics/store.js');
          const result = await storeSnapshot(sql, collect);
          if (result.status === 'skipped') {
            throw new BookingDbError('busy', 'another `metrics --store` is writing a snapshot; this run was recorded as skipped', {
              exitCode: ExitCode.busy, hint: 'cron runs overlap: space them further apart', details: { runId: result.runId },
            });
          }
          snapshot = result.snapshot!;
          stored = { snapshotId: result.snapshotId, runId: result.runId, status: result.status };
          ctx.out.info(`stored snapshot ${result.snapshotId} (run ${result.runId}) in ${snapshot.collectMs} ms`);
        } else {
          const { collectSnapshot } = await import('../../metrics/collect.js');
          snapshot = await collectSnapshot(sql, collect);
        }
        const { renderPrometheus, tableRows } = await import('../../metrics/render.js');
        if (format === 'json') ctx.out.printJson({ ok: true, ...(stored ? { stored } : {}), snapshot });
        else if (format === 'prometheus') ctx.out.print((await renderPrometheus(snapshot, { tenantLabels })).replace(/\n$/, ''));
        else if (!(opts.store && ctx.out.quiet)) {
          const w = snapshot.bookings.window;
          ctx.out.print(`bookings counted from ${w.from} to ${w.to} (${w.previousSnapshotId === null ? 'no stored snapshot yet: the last window' : `since snapshot ${w.previousSnapshotId}`})`);
          ctx.out.print(await renderTable(['metric', 'labels', 'value'], tableRows(snapshot, { tenantLabels })));
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    }));

  metrics.command('serve')
    .description('a Prometheus scrape endpoint: GET /metrics and /healthz')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default 9187)')
    .option('--cache-seconds <seconds>', 'answer scrapes from the last database round for this long (default 5)')
    .option('--tenant-labels <mode>', 'per-tenant series: none, all or top:N (default top:20)')
    .action(metricsAction(async (ctx, opts) => {
      const { config, tenantLabels, collect } = await settings(ctx, opts);
      const port = opts.port === undefined ? config.serve.port : parseInteger('--port', String(opts.port), { min: 0, max: 65535 });
      const cacheSeconds = opts.cacheSeconds === undefined ? config.serve.cacheSeconds : parseInteger('--cache-seconds', String(opts.cacheSeconds), { min: 0, max: 300, unit: 'seconds' });
      const host = String(opts.host ?? config.serve.host);
      const sql = await open(ctx);
      const { startMetricsServer } = await import('../../metrics/serve.js');
      let server;
      try {
        server = await startMetricsServer(sql, {
          host, port, cacheSeconds, tenantLabels, collect,
          onRoundError: (error) => ctx.out.warn(`database round failed: ${error instanceof Error ? error.message : String(error)}`),
        });
      } catch (error) {
        await sql.end({ timeout: 5 });
        throw error;
      }
      ctx.out.info(`listening on ${server.url} (GET /metrics, /healthz); cache ${cacheSeconds} s; stop with SIGTERM or Ctrl-C`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const stop = (s: NodeJS.Signals) => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          resolve(s);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      ctx.out.info(`${signal}: stopping after ${server.rounds()} database rounds`);
      await server.close();
      await sql.end({ timeout: 5 });
      return ExitCode.ok;
    }));
}
