import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Output } from '../output.js';
import { usageError } from '../../errors.js';
import { parseInteger } from '../../validate.js';

/**
 * `bookingdb init`: writes bookingdb.config.json (and its JSON Schema beside it), asking
 * on a TTY, or from flags with --yes (CI, provisioning tools). Its own wrapper, not
 * action(): that one loads the config file, which init is about to write (and which may
 * be broken, the reason to re-run init --force). `--config PATH` names the file to write.
 */
export function registerInit(program: Command): void {
  program.command('init')
    .description('write bookingdb.config.json (asks on a terminal; --yes and flags for scripts), then print the next commands')
    .option('--database-url-env <name>', 'NAME of the environment variable that holds the database URL (default DATABASE_URL); never the password')
    .option('--backup-dir <dir>', 'directory of the backups (default ./backups)')
    .option('--keep-daily <n>', 'daily backups to keep (default 7)')
    .option('--keep-weekly <n>', 'weekly backups to keep (default 4)')
    .option('--keep-monthly <n>', 'monthly backups to keep (default 12)')
    .option('--encrypt-to <recipients>', 'age public keys (age1..., comma-separated) the backups are encrypted to')
    .option('--maintain-cron <expr>', 'when maintain runs (default "15 3 * * *"; off to switch it off)')
    .option('--metrics-cron <expr>', 'when metrics --store runs (default "*/5 * * * *")')
    .option('--backup-cron <expr>', 'when backup runs (default "30 2 * * *")')
    .option('--restore-verify-cron <expr>', 'when restore-verify runs (default "45 4 * * 0")')
    .option('--connections-warning <percent>', 'health-check connections: warning at this % of max_connections (default 80)')
    .option('--connections-critical <percent>', 'health-check connections: critical at this % (default 95)')
    .option('--longest-transaction-warning <seconds>', 'health-check longest-transaction: warning after this many seconds (default 300)')
    .option('--longest-transaction-critical <seconds>', 'health-check longest-transaction: critical after this many seconds (default 1800)')
    .option('--force', 'replace an existing config file')
    .addHelpText('after', '\nexamples:\n  bookingdb init\n  bookingdb init --yes --database-url-env BOOKING_DB_URL --backup-dir /var/backups/bookingdb --encrypt-to age1...')
    .action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const opts = cmd.optsWithGlobals() as Record<string, any>;
      const out = new Output({ json: opts.json, quiet: opts.quiet, color: opts.color, debug: opts.debug });
      await out.init();
      const core = await import('../../init/init.js');
      const configPath = resolve(process.cwd(), String(opts.config ?? 'bookingdb.config.json'));
      if (existsSync(configPath) && !opts.force) throw core.existsError(configPath);
      const canPrompt = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.yes && !opts.json;
      if (!canPrompt && !opts.yes) throw usageError('init asks its questions on a terminal only', 'pass --yes with the flags you need (bookingdb init --help); the rest take their defaults');
      let answers = fromFlags(opts, core);
      if (canPrompt) answers = await ask(answers, core);
      const written = await core.writeInitFiles(configPath, answers, Boolean(opts.force));
      const steps = core.nextSteps(answers);
      await out.result({ ok: true, file: written.configPath, schema: written.schemaPath, config: written.config, next: steps }, () =>
        [`wrote ${written.configPath} (and its JSON Schema ${written.schemaPath})`, 'next:', ...steps.map((s) => `  ${s}`)].join('\n'));
    });
}

type Core = typeof import('../../init/init.js');

function int(flag: string, value: unknown, fallback: number, max: number): number {
  return value === undefined ? fallback : parseInteger(flag, String(value), { min: 0, max });
}

/** The answers the flags give, defaults for the rest; every value checked, naming its flag. */
function fromFlags(opts: Record<string, any>, core: Core): import('../../init/init.js').InitAnswers {
  const d = core.INIT_DEFAULTS;
  const from = opts.databaseUrlEnv === undefined ? d.databaseUrlFrom : String(opts.databaseUrlEnv);
  const problem = core.databaseUrlFromProblem(from);
  if (problem) throw usageError(`--database-url-env: ${problem}`);
  const encryptTo = opts.encryptTo === undefined ? [] : String(opts.encryptTo).split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of encryptTo) {
    const p = core.ageRecipientProblem(r);
    if (p) throw usageError(`--encrypt-to: ${p}`);
  }
  const cron = (task: keyof typeof d.schedule, flag: unknown) => (flag === undefined ? d.schedule[task] : core.parseScheduleAnswer(task, String(flag)));
  return {
    databaseUrlFrom: from.trim(),
    backupDir: opts.backupDir === undefined ? d.backupDir : String(opts.backupDir),
    keepDaily: int('--keep-daily', opts.keepDaily, d.keepDaily, 366),
    keepWeekly: int('--keep-weekly', opts.keepWeekly, d.keepWeekly, 520),
    keepMonthly: int('--keep-monthly', opts.keepMonthly, d.keepMonthly, 1200),
    encryptTo,
    schedule: {
      maintain: cron('maintain', opts.maintainCron),
      metrics: cron('metrics', opts.metricsCron),
      backup: cron('backup', opts.backupCron),
      'restore-verify': cron('restore-verify', opts.restoreVerifyCron),
    },
    connections: { warning: int('--connections-warning', opts.connectionsWarning, d.connections.warning, 100), critical: int('--connections-critical', opts.connectionsCritical, d.connections.critical, 100) },
    longestTransaction: {
      warning: int('--longest-transaction-warning', opts.longestTransactionWarning, d.longestTransaction.warning, 86_400),
      critical: int('--longest-transaction-critical', opts.longestTransactionCritical, d.longestTransaction.critical, 86_400),
    },
  };
}

/** The wizard: each question starts from the flag's value (or the default). */
async function ask(start: import('../../init/init.js').InitAnswers, core: Core): Promise<import('../../init/init.js').InitAnswers> {
  const { input } = await import('@inquirer/prompts');
  const text = (message: string, def: string, check: (v: string) => string | undefined = () => undefined) =>
    input({ message, default: def, validate: (v) => check(v) ?? true });
  const number = async (message: string, def: number, max: number) =>
    Number(await text(message, String(def), (v) => (/^\d{1,9}$/.test(v.trim()) && Number(v) <= max ? undefined : `a whole number from 0 to ${max}`)));
  const cronCheck = (task: string) => (v: string) => {
    try {
      core.parseScheduleAnswer(task, v);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const databaseUrlFrom = (await text('Environment variable that holds the database URL (its NAME, e.g. DATABASE_URL; never the password)', start.databaseUrlFrom, core.databaseUrlFromProblem)).trim();
  const backupDir = await text('Backup directory', start.backupDir, (v) => (v.trim() ? undefined : 'give a directory'));
  const keepDaily = await number('Daily backups to keep', start.keepDaily, 366);
  const keepWeekly = await number('Weekly backups to keep', start.keepWeekly, 520);
  const keepMonthly = await number('Monthly backups to keep', start.keepMonthly, 1200);
  const recipients = await text('Encrypt backups to these age public keys (age1..., comma-separated; empty: not encrypted)', start.encryptTo.join(','), (v) =>
    v.split(',').map((s) => s.trim()).filter(Boolean).map(core.ageRecipientProblem).find(Boolean));
  const schedule = { ...start.schedule };
  for (const task of Object.keys(schedule) as (keyof typeof schedule)[]) {
    schedule[task] = core.parseScheduleAnswer(task, await text(`When ${task} runs (cron expression, or off)`, schedule[task] ?? 'off', cronCheck(task)));
  }
  const connections = { warning: await number('health-check connections: warning at % of max_connections', start.connections.warning, 100), critical: await number('health-check connections: critical at %', start.connections.critical, 100) };
  const longestTransaction = { warning: await number('health-check longest-transaction: warning after seconds', start.longestTransaction.warning, 86_400), critical: await number('health-check longest-transaction: critical after seconds', start.longestTransaction.critical, 86_400) };
  return { databaseUrlFrom, backupDir, keepDaily, keepWeekly, keepMonthly, encryptTo: recipients.split(',').map((s) => s.trim()).filter(Boolean), schedule, connections, longestTransaction };
}
