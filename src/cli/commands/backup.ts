import { resolve } from 'node:path';
import type { Command } from 'commander';
import { action } from './action.js';
import type { Context } from '../context.js';
import { renderTable } from '../output.js';
import { ExitCode, usageError } from '../../errors.js';
import { parseInteger } from '../../validate.js';

// `bookingdb backup`, `backup list`, `backup prune`: flags and rendering only; the core is src/backup/.

const collect = (value: string, previous: string[] = []) => [...previous, value];

function backupDir(ctx: Context, opts: Record<string, any>): string {
  return resolve(ctx.cwd, opts.dir ?? ctx.config.backup?.dir ?? 'backups');
}

function keepCounts(ctx: Context, opts: Record<string, any>) {
  const c = ctx.config.backup ?? {};
  const pick = (flag: string, value: unknown, fromConfig: number | undefined, max: number, dflt: number) =>
    value === undefined ? (fromConfig ?? dflt) : parseInteger(flag, String(value), { min: 0, max });
  return {
    daily: pick('--keep-daily', opts.keepDaily, c.keepDaily, 366, 7),
    weekly: pick('--keep-weekly', opts.keepWeekly, c.keepWeekly, 520, 4),
    monthly: pick('--keep-monthly', opts.keepMonthly, c.keepMonthly, 1200, 12),
  };
}

async function timeZone(ctx: Context, opts: Record<string, any>): Promise<string> {
  const { isTimeZone } = await import('../../backup/retention.js');
  const tz: string = opts.timeZone ?? ctx.config.backup?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  if (!isTimeZone(tz)) throw usageError(`--time-zone: unknown time zone "${tz}"`, 'give an IANA name such as Europe/Berlin or UTC');
  return tz;
}

export function formatBytes(n: number | null): string {
  if (n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function formatAge(iso: string | null, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** A spinner with the bytes written and the rate on a TTY; a timestamped line every 10 s otherwise. */
async function progressReporter(ctx: Context): Promise<{ update: (bytes: number, ms: number) => void; stop: () => void }> {
  const text = (bytes: number, ms: number) => `backup: ${formatBytes(bytes)} written (${formatBytes(Math.round(bytes / Math.max(ms / 1000, 0.001)))}/s)`;
  const columns = process.stderr.columns ?? 0;
  if (!ctx.out.quiet && ctx.out.interactive && ctx.out.color && columns >= 20) {
    const { default: ora } = await import('ora');
    const spinner = ora({ text: 'backup: starting pg_dump', stream: process.stderr }).start();
    return { update: (b, ms) => { spinner.text = text(b, ms); }, stop: () => spinner.stop() };
  }
  let last = 0;
  return {
    update: (b, ms) => {
      if (ms - last < 10_000) return;
      last = ms;
      ctx.out.info(`${new Date().toISOString()} ${text(b, ms)}`);
    },
    stop: () => undefined,
  };
}

async function runBackupCommand(ctx: Context, opts: Record<string, any>): Promise<number> {
  const format = opts.format ?? 'custom';
  if (format !== 'custom' && format !== 'directory') throw usageError(`--format must be custom or directory, got "${format}"`);
  if (opts.jobs !== undefined && format !== 'directory') throw usageError('--jobs needs --format directory (pg_dump writes a custom-format archive with one job)', 'add --format directory, or leave out --jobs');
  const jobs = opts.jobs === undefined ? 1 : parseInteger('--jobs', String(opts.jobs), { min: 1, max: 64 });
  const recipients: string[] = opts.encryptTo ?? ctx.config.backup?.encryptTo ?? [];
  const { AGE_RECIPIENT } = await import('../../config/schema.js'); // zod: loaded only when a command runs
  for (const r of recipients) {
    if (!AGE_RECIPIENT.test(r)) throw usageError(`--encrypt-to: "${r.slice(0, 80)}" is not an age public key`, 'give the age1... line that `age-keygen -y KEYFILE` prints');
  }
  if (recipients.length && format === 'directory') throw usageError('encryption works with --format custom only (pg_dump -Fd writes its files itself)', 'use --format custom with --encrypt-to');
  const compress: string | null = opts.compress ?? null;
  if (compress !== null && !/^[a-z0-9][a-z0-9:=,_-]{0,40}$/i.test(compress)) throw usageError(`--compress: "${compress}" is not a pg_dump compression spec`, 'e.g. 6, gzip:9, zstd:3, lz4 or 0');
  const keep = keepCounts(ctx, opts);
  const tz = await timeZone(ctx, opts);
  const root = backupDir(ctx, opts);
  const { connect } = await import('../../db/connect.js');
  const { runBackup } = await import('../../backup/backup.js');
  const target = await ctx.target();
  // the ledger row's connection, the snapshot's, and one for the checks
  const sql = await connect(target.connection, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 3 });
  const progress = await progressReporter(ctx);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let receipt;
  try {
    receipt = await runBackup(sql, {
      root, connection: target.connection, connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, rolePrefix: ctx.settings.rolePrefix,
      format, jobs, compress, recipients, keep, prune: opts.prune !== false, timeZone: tz, lockTimeoutMs: ctx.settings.lockTimeoutMs,
      onProgress: progress.update, log: (m) => ctx.out.info(`${new Date().toISOString()} ${m}`), signal: abort.signal,
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sql.end({ timeout: 5 });
  }
  const r = receipt;
  if (ctx.out.json) ctx.out.printJson({ ok: r.pruneError === null, ...r });
  else {
    ctx.out.print(`backup ${r.id} complete: ${formatBytes(r.bytes)}, ${r.rows.toLocaleString('en-US')} rows in ${r.tables} tables, ${(r.durationMs / 1000).toFixed(1)} s${r.encrypted ? ', encrypted' : ''} (${r.path}; ops.runs id ${r.runId})`);
    if (r.prune) ctx.out.print(r.prune.deleted.length ? `pruned ${r.prune.deleted.length}: ${r.prune.deleted.join(', ')}` : `nothing to prune (${r.prune.decisions.length} kept)`);
  }
  if (r.pruneError !== null) {
    ctx.out.error(`backup ${r.id} is complete, but pruning failed: ${r.pruneError}`, 'fix the cause and run `bookingdb backup prune`');
    return ExitCode.failed;
  }
  return ExitCode.ok;
}

export function registerBackup(program: Command): void {
  const backup = program.command('backup')
    .description('a logical backup (pg_dump in one snapshot with exact row counts), written atomically with a manifest, then retention pruning')
    .option('--dir <dir>', 'backup directory (default ./backups, config backup.dir)')
    .option('--format <format>', 'custom (one archive, default) or directory (pg_dump -Fd, parallel with --jobs)')
    .option('--jobs <n>', 'parallel pg_dump jobs, directory format only (1 to 64)')
    .option('--compress <spec>', "pg_dump --compress (e.g. 6; gzip:9, zstd:3, lz4 with pg_dump 16+)")
    .option('--encrypt-to <recipient>', 'age public key (age1...) to encrypt to; repeatable (config backup.encryptTo)', collect)
    .option('--keep-daily <n>', 'daily backups to keep (default 7)')
    .option('--keep-weekly <n>', 'weekly backups to keep (default 4)')
    .option('--keep-monthly <n>', 'monthly backups to keep (default 12)')
    .option('--time-zone <zone>', "time zone of retention's days, weeks and months (default: this machine's)")
    .option('--no-prune', 'do not prune old backups after this one')
    .addHelpText('after', '\nexamples:\n  bookingdb backup --dir /var/backups/bookingdb\n  bookingdb backup --encrypt-to age1... --keep-daily 14\n  bookingdb backup list\n  bookingdb backup prune --dry-run')
    .action(action(async (ctx, opts) => runBackupCommand(ctx, opts)));

  backup.command('list')
    .description('the backups with age, size, row total, format, encryption and the last restore-verify result')
    .option('--dir <dir>', 'backup directory (default ./backups, config backup.dir)')
    .action(action(async (ctx, opts) => {
      const { describeBackups } = await import('../../backup/list.js');
      const entries = await describeBackups(backupDir(ctx, opts));
      await ctx.out.result({ ok: true, dir: backupDir(ctx, opts), backups: entries }, async () => {
        if (entries.length === 0) return `no backups in ${backupDir(ctx, opts)}`;
        const rows = entries.map((e) => [
          e.id, e.state === 'complete' ? 'complete' : `${e.state}: ${e.problem}`, formatAge(e.startedAt), formatBytes(e.bytes),
          e.rows === null ? '' : e.rows.toLocaleString('en-US'), e.format ?? '', e.encrypted === null ? '' : e.encrypted ? 'yes' : 'no',
          e.lastVerified ? `${e.lastVerified.result} ${formatAge(e.lastVerified.at)} ago` : e.state === 'complete' ? 'never' : '',
        ]);
        return renderTable(['id', 'state', 'age', 'size', 'rows', 'format', 'encrypted', 'last verified'], rows);
      });
      return ExitCode.ok;
    }));

  backup.command('prune')
    .description('deletes the backups the retention rules do not keep; --dry-run shows what would go and why each is kept')
    .option('--dir <dir>', 'backup directory (default ./backups, config backup.dir)')
    .option('--keep-daily <n>', 'daily backups to keep (default 7)')
    .option('--keep-weekly <n>', 'weekly backups to keep (default 4)')
    .option('--keep-monthly <n>', 'monthly backups to keep (default 12)')
    .option('--time-zone <zone>', "time zone of retention's days, weeks and months (default: this machine's)")
    .option('--dry-run', 'show the decisions and delete nothing')
    .action(action(async (ctx, opts) => {
      const { pruneBackups } = await import('../../backup/prune.js');
      const report = await pruneBackups(backupDir(ctx, opts), { keep: keepCounts(ctx, opts), timeZone: await timeZone(ctx, opts), now: new Date(), dryRun: Boolean(opts.dryRun) });
      await ctx.out.result({ ok: true, ...report }, async () => {
        const rows = report.decisions.map((d) => [d.id, d.action === 'keep' ? 'keep' : report.dryRun ? 'would delete' : 'deleted', formatBytes(d.bytes), d.reasons.join('; ')]);
        const gone = report.decisions.filter((d) => d.action === 'delete').length;
        const table = rows.length ? `${await renderTable(['id', 'action', 'size', 'kept because'], rows)}\n` : '';
        const invalid = report.invalid.map((i) => `left alone: ${i.id}: ${i.error}`).join('\n');
        return `${table}${report.dryRun ? `dry run: ${gone} would be deleted, nothing changed` : `${gone} deleted`}; keeping ${rows.length - gone} (daily ${report.keep.daily}, weekly ${report.keep.weekly}, monthly ${report.keep.monthly}, ${report.timeZone})${invalid ? `\n${invalid}` : ''}`;
      });
      return ExitCode.ok;
    }));
}
