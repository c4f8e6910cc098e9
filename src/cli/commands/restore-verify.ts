import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import type { Context } from '../context.js';
import { ExitCode, usageError } from '../../errors.js';
import { optionalInteger } from '../../validate.js';

/** --dir, else the config file's backup.dir, else ./backups (relative to the working directory). */
export function backupRoot(ctx: Context, dir: string | undefined): string {
  return resolve(ctx.cwd, dir ?? ctx.config.backup?.dir ?? 'backups');
}

/** The restore sessions' settings; a size is checked strictly since it goes into PGOPTIONS. */
export function restoreTuning(opts: Record<string, any>): { jobs: number; maintenanceWorkMem: string; maxParallelMaintenanceWorkers: number } {
  const jobs = optionalInteger('--jobs', opts.jobs, { min: 1, max: 64 }) ?? Math.min(4, Math.max(2, availableParallelism()));
  const maintenanceWorkMem = opts.maintenanceWorkMem ?? '1GB';
  if (!/^\d{1,7}(kB|MB|GB)$/.test(maintenanceWorkMem)) throw usageError(`--maintenance-work-mem must be a size like 512MB or 1GB, got "${maintenanceWorkMem}"`);
  return { jobs, maintenanceWorkMem, maxParallelMaintenanceWorkers: Math.min(jobs, 8) };
}

/** Aborts on Ctrl-C and SIGTERM while fn runs, so the core can drop what it created. */
export async function withSignals<T>(ctx: Context, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.out.warn(`${signal}: stopping; ${what}`);
    controller.abort(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

export async function loadIdentities(ctx: Context, file: string | undefined) {
  if (!file) return undefined;
  const { readIdentityFile } = await import('../../restore/age-decrypt.js');
  return readIdentityFile(resolve(ctx.cwd, file));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A step that also worked during the restore says so: its duration is what it added after it. */
function duration(s: { durationMs: number; detail?: Record<string, unknown> }): string {
  const during = Number(s.detail?.duringRestoreMs ?? 0);
  return during > 0 ? `${seconds(s.durationMs)} (+${seconds(during)} during restore)` : seconds(s.durationMs);
}

function summarise(detail: Record<string, unknown> | undefined): string {
  if (!detail) return '';
  return Object.entries(detail)
    .filter(([k, v]) => k !== 'error' && k !== 'duringRestoreMs' && v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ').slice(0, 90);
}

export function registerRestoreVerify(program: Command): void {
  program.command('restore-verify')
    .description('prove a backup restorable: checksums, restore into a scratch database, row counts, verification, amcheck; records the verdict')
    .option('--dir <dir>', 'backup directory (default: config backup.dir, else ./backups)')
    .option('--backup <id>', 'backup id, or latest (default latest)')
    .option('--jobs <n>', 'pg_restore jobs and amcheck connections (default 2 to 4 by CPUs)')
    .option('--maintenance-work-mem <size>', 'maintenance_work_mem of the restore sessions (default 1GB)')
    .option('--overlap', 'start the row counts and amcheck of each table while pg_restore still runs, as soon as it has finished the table (the default)')
    .option('--no-overlap', 'run the row counts and amcheck only after the whole restore')
    .option('--keep', 'leave the scratch database for inspection (prints how to drop it)')
    .option('--target-url <url>', 'server for the scratch database (default: the source database\'s server)')
    .option('--identity-file <file>', 'age identity (age-keygen output) of an encrypted backup')
    .addHelpText('after', '\nthe run is recorded in the source database\'s ops.runs (health-check: last-restore-verify)\nand the verdict written to <dir>/<id>/verify.json; exit 1 names the failed step.\nexamples:\n  bookingdb restore-verify\n  bookingdb restore-verify --backup 20261201T223015Z-3fa9 --identity-file /root/backup.key\n  45 4 * * 0 bookingdb restore-verify --quiet   # crontab')
    .action(action(async (ctx, opts) => {
      const tuning = restoreTuning(opts);
      const dir = backupRoot(ctx, opts.dir);
      const identities = await loadIdentities(ctx, opts.identityFile);
      const { parseDatabaseUrl } = await import('../../db/url.js');
      let scratchServer: import('../../db/url.js').ConnectionTarget | undefined;
      if (opts.targetUrl !== undefined) {
        try {
          scratchServer = parseDatabaseUrl(opts.targetUrl);
        } catch (error) {
          throw usageError(`--target-url: ${(error as Error).message}`, (error as { hint?: string }).hint);
        }
      }
      const target = await ctx.target();
      const { restoreVerify } = await import('../../restore/verify.js');
      const result = await withSignals(ctx, 'dropping the scratch database', (signal) => restoreVerify({
        dir, backup: opts.backup ?? 'latest', keep: Boolean(opts.keep), source: target.connection, scratchServer, identities,
        overlap: opts.overlap !== false, // the default: pg_restore leaves a core idle while the exclusion index builds
        rolePrefix: ctx.settings.rolePrefix, connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, signal, ...tuning,
        onStep: (s) => ctx.out.info(`${s.name}: ${s.status} (${s.durationMs} ms)${s.status === 'failed' && s.detail?.error ? `: ${String(s.detail.error)}` : ''}`),
      }));
      const v = result.verdict;
      if (result.verdictWriteError) ctx.out.warn(`could not write verify.json beside the manifest: ${result.verdictWriteError}`);
      await ctx.out.result({ ok: v.result === 'passed', ...result }, async () => [
        await renderTable(['step', 'status', 'duration', 'detail'], v.steps.map((s) => [s.name, s.status, s.status === 'skipped' ? '' : duration(s), s.status === 'failed' ? String(s.detail?.error ?? '').slice(0, 90) : summarise(s.detail)])),
        `backup ${v.backupId} ${v.result} restore-verify in ${seconds(v.totalMs)} (the measured RTO), scratch database ${v.target}; ops.runs #${result.runId}`,
        ...(v.steps.some((s) => Number(s.detail?.duringRestoreMs ?? 0) > 0) ? ['the total is wall time: counts and amcheck also ran during the restore (their "during restore" time overlaps it)'] : []),
        ...(result.dropCommand ? [`kept the scratch database; drop it when done: psql -c '${result.dropCommand}'`] : []),
      ].join('\n'));
      if (v.result === 'passed') return ExitCode.ok;
      if (!ctx.out.json) ctx.out.error(`restore-verify of backup ${v.backupId} failed at step ${v.failedStep}: ${v.message}`, result.interrupted ? 'it was interrupted; run it again' : 'this backup cannot be trusted: take a new backup (`bookingdb backup`) and find the cause');
      return ExitCode.failed;
    }));
}
