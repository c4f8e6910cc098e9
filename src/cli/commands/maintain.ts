import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import { ExitCode, usageError } from '../../errors.js';

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/**
 * --max-duration: a whole number and ms, s, m (or min) or h, e.g. 90s, 30m, 2h; at most
 * 7 days. The budget of the whole run: vacuum and reindex cancel the statement still
 * running at the deadline, and no task step starts after it.
 */
export function parseMaxDuration(value: string): number {
  const m = /^([1-9]\d{0,9})(ms|s|m|min|h)$/.exec(value.trim());
  const ms = m ? Number(m[1]) * DURATION_UNIT_MS[m[2]] : NaN;
  if (!(ms > 0 && ms <= 7 * 86_400_000)) {
    throw usageError(`--max-duration must be a duration like 90s, 30m or 2h (at most 7 days), got "${value}"`, 'write a whole number followed by ms, s, m or h');
  }
  return ms;
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
    .description('the maintenance routines (expire-holds, partitions, retention, refresh, vacuum, reindex, prune, ...), each recorded in ops.runs; safe under live traffic')
    .option('--only <tasks>', 'comma-separated tasks to run (opt-in tasks run only when named here)')
    .option('--skip <tasks>', 'comma-separated tasks to leave out')
    .option('--dry-run', 'list what each task would do (counts, names) and change nothing')
    .option('--skip-if-busy', 'exit 0 with "skipped: another maintain is running" instead of exit 5 (for cron)')
    .option('--max-duration <duration>', 'budget of the whole run, e.g. 30m or 90s: a VACUUM or REINDEX still running at the deadline is cancelled, nothing starts after it')
    .option('--allow-blocking', 'reindex may rebuild exclusion-constraint indexes with a blocking REINDEX (writes to the table wait): a maintenance-window operation')
    .addHelpText('after', '\ntasks, in the order they run: expire-holds, partitions, retention, refresh, vacuum, reindex, prune; opt-in: idle-sessions\nexamples:\n  bookingdb maintain --dry-run\n  bookingdb maintain --only vacuum,reindex --max-duration 30m\n  17 3 * * * bookingdb maintain --skip-if-busy --quiet   # crontab')
    .action(action(async (ctx, opts) => {
      const { selectTasks } = await import('../../maintain/registry.js');
      const only = list(opts.only);
      const skip = list(opts.skip);
      selectTasks(only, skip); // unknown names: exit 2 before connecting
      const maxDurationMs = opts.maxDuration === undefined ? undefined : parseMaxDuration(String(opts.maxDuration));
      const deadline = maxDurationMs === undefined ? undefined : Date.now() + maxDurationMs;
      const { MAINTAIN_DEFAULTS } = await import('../../maintain/defaults.js');
      const config = ctx.config.maintain ?? MAINTAIN_DEFAULTS;
      const metricsRetentionDays = config.prune.metricsRetentionDays ?? ctx.config.metrics?.retentionDays ?? 14;
      const { connect } = await import('../../db/connect.js');
      const { runMaintain } = await import('../../maintain/runner.js');
      const target = await ctx.target();
      // the maintain lock, a run's ledger row, the task, and the lock-wait watcher
      const sql = await connect(target.connection, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 5 });
      // ora on a TTY (the task and what it is doing), plain timestamped lines otherwise
      const step = await ctx.out.step(opts.dryRun ? 'maintain (dry run)' : 'maintain');
      let report;
      try {
        report = await runMaintain(sql, {
          only, skip, dryRun: Boolean(opts.dryRun), skipIfBusy: Boolean(opts.skipIfBusy),
          lockTimeoutMs: config.lockTimeoutMs, lockAttempts: config.lockAttempts, deadline,
          taskOptions: {
            partitions: { ...config.partitions },
            prune: { runsRetentionDays: config.prune.runsRetentionDays, metricsRetentionDays },
            vacuum: { ...config.vacuum },
            reindex: { ...config.reindex, allowBlocking: Boolean(opts.allowBlocking) },
            'idle-sessions': { ...config.idleSessions },
            retention: { ...config.retention },
            refresh: { ...(config.refresh ?? MAINTAIN_DEFAULTS.refresh) },
          },
          progress: (task, message) => step.update(`${task}: ${message}`),
        });
        step.done(report.status === 'busy' ? 'another maintain is running' : `${report.tasks.length} tasks`);
      } catch (error) {
        step.fail();
        throw error;
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
