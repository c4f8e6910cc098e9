import { resolve } from 'node:path';
import type { Command } from 'commander';
import { action, withTargetSql } from './action.js';
import { renderTable } from '../output.js';
import { BookingDbError, ExitCode, usageError } from '../../errors.js';
import { optionalInteger } from '../../validate.js';

const FORMATS = ['table', 'json', 'nagios', 'prometheus'] as const;
type Format = (typeof FORMATS)[number];

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The healthCheck section's defaults, as plain data (zod loads only with a config file). */
const HEALTH_DEFAULTS = { statementTimeoutMs: 2000, lockTimeoutMs: 500, thresholds: {}, skip: [] as string[] };

export function registerHealthCheck(program: Command): void {
  program.command('health-check')
    .description('every server and booking check with its status; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--format <format>', `output: ${FORMATS.join('|')} (default table; --json means json)`)
    .option('--output <file>', 'write the output to FILE atomically (e.g. for the node_exporter textfile collector)')
    .option('--fail-on <level>', 'warning (default: exit is the worst status) or critical (warnings exit 0)')
    .option('--only <checks>', 'comma-separated check names to run')
    .option('--skip <checks>', 'comma-separated check names to leave out')
    .option('--statement-timeout <ms>', 'statement_timeout of each check (default 2000)')
    .addHelpText('after', '\nrun it from monitoring as a LOGIN member of bookingdb_monitor:\n  bookingdb roles create monitor --name nagios\n  bookingdb health-check --format nagios --database-url postgres://nagios@db/booking\n  bookingdb health-check --format prometheus --output /var/lib/node_exporter/bookingdb.prom')
    .action(action(async (ctx, opts) => {
      // --json (global) is --format json: Output prints nothing else in JSON mode
      const format: Format = opts.json ? 'json' : (opts.format ?? 'table');
      if (!FORMATS.includes(format)) throw usageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
      const failOn = opts.failOn ?? 'warning';
      if (failOn !== 'warning' && failOn !== 'critical') throw usageError(`--fail-on must be warning or critical, got "${failOn}"`);
      const config = ctx.config.healthCheck ?? HEALTH_DEFAULTS; // thresholds per check: config section healthCheck
      const { runHealthCheck, selectChecks } = await import('../../health/runner.js');
      const { exitCodeFor } = await import('../../health/checks.js');
      const render = await import('../../health/render.js');
      const only = list(opts.only);
      const skip = [...list(opts.skip), ...config.skip];
      selectChecks(only, skip); // unknown names: exit 2 before connecting
      const statementTimeoutMs = optionalInteger('--statement-timeout', opts.statementTimeout, { min: 50, max: 60_000 }) ?? config.statementTimeoutMs;

      const emit = async (text: string) => {
        if (opts.output) {
          const { writeFileAtomic } = await import('../../health/write-atomic.js');
          await writeFileAtomic(resolve(ctx.cwd, opts.output), text.endsWith('\n') ? text : `${text}\n`);
          ctx.out.info(`wrote ${opts.output}`);
        } else if (format === 'json') ctx.out.printJson(JSON.parse(text));
        else ctx.out.print(text.replace(/\n$/, ''));
      };

      let report;
      try {
        report = await withTargetSql(ctx, (sql) => runHealthCheck(sql, { only, skip, statementTimeoutMs, lockTimeoutMs: config.lockTimeoutMs, thresholds: config.thresholds }));
      } catch (error) {
        // Monitoring reads stdout: a plugin that cannot connect still prints its one line.
        if (error instanceof BookingDbError && error.exitCode === ExitCode.connection && (format === 'nagios' || format === 'prometheus')) {
          await emit(format === 'nagios' ? render.renderNagiosUnknown(error.message) : await render.renderPrometheus({ error: error.message }));
          if (format === 'prometheus') ctx.out.error(error.message, error.hint);
          return ExitCode.connection;
        }
        throw error;
      }
      const code = exitCodeFor(report.status, failOn);
      if (format === 'json') await emit(JSON.stringify(render.toJson(report, code)));
      else if (format === 'nagios') await emit(render.renderNagios(report));
      else if (format === 'prometheus') await emit(await render.renderPrometheus(report));
      else {
        await emit(`${await renderTable(render.TABLE_HEAD, render.tableRows(report))}\n${render.summaryLine(report)}`);
      }
      return code;
    }));
}
