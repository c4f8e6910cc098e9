import type { Command } from 'commander';
import { action, confirmPrompt } from './action.js';
import { backupRoot, loadIdentities, restoreTuning, withSignals } from './restore-verify.js';
import { ExitCode, usageError } from '../../errors.js';

export function registerRestore(program: Command): void {
  program.command('restore')
    .description('restore a backup into a new (or empty) database, checksums first, then the post-deploy verification')
    .requiredOption('--backup <id>', 'backup id, or latest')
    .requiredOption('--target <dbname>', 'database to restore into, on the server of --database-url (created when missing)')
    .option('--dir <dir>', 'backup directory (default: config backup.dir, else ./backups)')
    .option('--force', 'restore into a database that is not empty (pg_restore --clean --if-exists)')
    .option('--jobs <n>', 'pg_restore jobs (default 2 to 4 by CPUs)')
    .option('--maintenance-work-mem <size>', 'maintenance_work_mem of the restore sessions (default 1GB)')
    .option('--identity-file <file>', 'age identity (age-keygen output) of an encrypted backup')
    .addHelpText('after', '\nexamples:\n  bookingdb restore --backup latest --target booking_restored\n  bookingdb restore --backup 20261201T223015Z-3fa9 --target booking --force --yes')
    .action(action(async (ctx, opts) => {
      const tuning = restoreTuning(opts);
      if (typeof opts.target !== 'string' || opts.target.length === 0 || opts.target.length > 63 || opts.target.includes('\0')) {
        throw usageError(`--target must be a database name of 1 to 63 bytes, got "${String(opts.target)}"`);
      }
      const dir = backupRoot(ctx, opts.dir);
      const identities = await loadIdentities(ctx, opts.identityFile);
      const target = await ctx.target();
      const { restoreBackup } = await import('../../restore/restore.js');
      const result = await withSignals(ctx, 'pg_restore is stopped; the target database is left as it is', (signal) => restoreBackup({
        dir, backup: opts.backup, target: opts.target, force: Boolean(opts.force), server: target.connection, identities,
        rolePrefix: ctx.settings.rolePrefix, connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, signal, ...tuning,
        confirm: ctx.canPrompt
          ? (plan) => confirmPrompt(`restore backup ${plan.backupId} (${plan.manifest.rows} rows of ${plan.manifest.database}) into ${plan.exists ? `the existing database ${plan.target}${plan.objects ? `, replacing its objects` : ''}` : `a new database ${plan.target}`} on ${target.connection.host}:${target.connection.port}?`)
          : undefined,
      }));
      const failed = result.verification.filter((r) => r.status === 'failed');
      await ctx.out.result({ ok: failed.length === 0, ...result }, () => [
        `restored backup ${result.backupId} into ${result.created ? 'new ' : ''}database ${result.target} in ${(result.durationMs / 1000).toFixed(1)} s`,
        failed.length === 0 ? `post-deploy verification: ${result.verification.length} checks ok` : `post-deploy verification: ${failed.length} failed:\n${failed.map((r) => `  ${r.check}: ${r.violations.join('; ')}`).join('\n')}`,
        `next: bring it to the current migrations and grants:\n  ${result.next}`,
      ].join('\n'));
      if (failed.length === 0) return ExitCode.ok;
      if (!ctx.out.json) ctx.out.error(`the restored database ${result.target} fails the post-deploy verification (${failed.map((r) => r.check).join(', ')})`, `run ${result.next.replace(/^bookingdb /, '`bookingdb ')}\` and check again`);
      return ExitCode.failed;
    }));
}
