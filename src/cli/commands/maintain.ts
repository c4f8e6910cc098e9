import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import { ExitCode } from '../../errors.js';

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** A list of names as names; a list of records (e.g. refresh's views) as its length. */
function summariseList(v: unknown[]): string {
  return v.some((x) => x !== null && typeof x === 'object') ? String(v.length) : v.join(',');
}

/** One short line of a task's counts for the table (the full detail is in --json and ops.runs). */
function summarise(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([k, v]) => k !== 'dryRun' && k !== 'blockers' && v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? summariseList(v) : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

export function registerMaintain(program: Command): void {
  program.command('maintain')
    .description('the maintenance routines (expire-holds, partitions, retention, refresh, prune, ...), each recorded in ops.runs; safe under live traffic')
    .option('--only <tasks>', 'comma-separated tasks to run (opt-in tasks run only when named here)')
    .option('--skip <tasks>', 'comma-separated tasks to leave out')
    .option('--dry-run', 'list what each task would do (counts, names) and change nothing')
    .option('--skip-if-busy', 'exit 0 with "skipped: another maintain is running" instead of exit 5 (for cron)')
    .addHelpText('after', '\ntasks, in the order they run: expire-holds, partitions, retention, refresh, prune\nexamples:\n  bookingdb maintain --dry-run\n  17 3 * * * bookingdb maintain --skip-if-busy --quiet   # crontab')
    .action(action(async (ctx, opts) => {
      const { selectTasks } = await import('../../maintain/registry.js');
      const only = list(opts.only);
      const skip = list(opts.skip);
      selectTasks(only, skip); // unknown names: exit 2 before connecting
      const { MAINTAIN_DEFAULTS } = await import('../../maintain/defaults.js');
      const config = ctx.config.maintain ?? MAINTAIN_DEFAULTS;
      const metricsRetentionDays = config.prune.metricsRetentionDays ?? ctx.config.metrics?.retentionDays ?? 14;
      const { connect } = await import('../../db/connect.js');
      const { runMaintain } = await import('../../maintain/runner.js');
      const target = await ctx.target();
      // the maintain lock, a run's ledger row, the task, and the lock-wait watcher
      const sql = await connect(target.connection, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 5 });
      let report;
      try {
        report = await runMaintain(sql, {
          only, skip, dryRun: Boolean(opts.dryRun), skipIfBusy: Boolean(opts.skipIfBusy),
          lockTimeoutMs: config.lockTimeoutMs, lockAttempts: config.lockAttempts,
          taskOptions: {
            partitions: { ...config.partitions },
            prune: { runsRetentionDays: config.prune.runsRetentionDays, metricsRetentionDays },
            retention: { ...config.retention },
          },
          progress: (task, message) => ctx.out.info(`${new Date().toISOString()} ${task}: ${message}`),
        });
      } finally {
        await sql.end({ timeout: 5 });
      }
      if (report.status === 'busy') {
        const who = report.holder ? ` (pid ${report.holder.pid})` : '';
        if (ctx.out.json) ctx.out.printJson({ ok: true, ...report, message: `skipped: another maintain is running${who}` });
        else ctx.out.print(`skipped: another maintain is running${who}`);
        return ExitCode.ok;
      }
      const failed = report.tasks.filter((t) => t.status === 'failed');
      if (ctx.out.json) ctx.out.printJson({ ok: failed.length === 0, ...report });
      else {
        const rows = report.tasks.map((t) => [t.name, t.status, `${t.durationMs} ms`, t.runId ?? '', t.reason ?? summarise(t.detail)]);
        ctx.out.print(await renderTable(['task', report.dryRun ? 'plan' : 'status', 'duration', 'run', 'detail'], rows));
        ctx.out.print(`${report.dryRun ? 'dry run: nothing changed; ' : ''}${report.tasks.length} tasks in ${report.durationMs} ms: ${['ok', 'skipped', 'failed'].map((s) => `${report.tasks.filter((t) => t.status === s).length} ${s}`).join(', ')}`);
      }
      for (const t of failed) ctx.out.error(`maintain task ${t.name} failed: ${t.reason}`, 'the other tasks ran; see ops.runs and run again with --only ' + t.name);
      return report.exitCode;
    }));
}
