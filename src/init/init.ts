import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { usageError } from '../errors.js';
import { writeFileAtomic } from '../health/write-atomic.js';
import { DEFAULT_SCHEDULE, SCHEDULE_TASKS, isCronExpression, type ScheduleTaskName } from '../schedule/config.js';
import { AGE_RECIPIENT, configJsonSchema, validateConfig } from '../config/schema.js';

/**
 * The core of `bookingdb init`: what the wizard (or its flags) answered becomes a
 * config file that validates against the one schema, written beside its JSON Schema,
 * plus the commands to run next. It never holds a password: the database URL stays in
 * the environment (DATABASE_URL; the password in ~/.pgpass), so the file is safe to
 * commit. The checks below are shared by the prompts and the flags.
 */
export interface InitAnswers {
  /** Name of the environment variable that holds the URL, or a URL without a password. */
  databaseUrlFrom: string;
  backupDir: string;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  encryptTo: string[];
  schedule: Record<ScheduleTaskName, string | null>;
  connections: { warning: number; critical: number };
  longestTransaction: { warning: number; critical: number };
}

export const INIT_DEFAULTS: InitAnswers = {
  databaseUrlFrom: 'DATABASE_URL',
  backupDir: './backups',
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 12,
  encryptTo: [],
  schedule: { ...DEFAULT_SCHEDULE },
  connections: { warning: 80, critical: 95 },
  longestTransaction: { warning: 300, critical: 1800 },
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `input` cannot say where the URL comes from, or undefined. Refuses any password. */
export function databaseUrlFromProblem(input: string): string | undefined {
  const value = input.trim();
  if (ENV_NAME.test(value)) return undefined;
  if (/^postgres(ql)?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return 'not a valid postgres:// URL: give the NAME of the environment variable that holds it (e.g. DATABASE_URL)';
    }
    if (url.password || url.searchParams.has('password')) {
      return 'refused: that URL holds a password, which would be written into the file: give the NAME of the variable that holds the URL (e.g. DATABASE_URL) and put the password in ~/.pgpass';
    }
    return undefined;
  }
  if (/[:@/=]/.test(value) || /password/i.test(value)) return 'give the NAME of an environment variable (letters, digits, _), never the password itself';
  return 'give the NAME of an environment variable (letters, digits and _, e.g. DATABASE_URL)';
}

/** Why `input` is not an age public key, or undefined. */
export function ageRecipientProblem(input: string): string | undefined {
  if (AGE_RECIPIENT.test(input.trim())) return undefined;
  if (/^AGE-SECRET-KEY-/i.test(input.trim())) return 'refused: that is an age SECRET key; give its public key (age-keygen -y KEYFILE prints it: age1...)';
  return `"${input}" is not an age public key (age1 followed by 58 characters; age-keygen -y KEYFILE prints it)`;
}

/** Parses a schedule answer: a cron expression, or off/none/null to switch the task off. */
export function parseScheduleAnswer(task: string, input: string): string | null {
  const value = input.trim();
  if (['off', 'none', 'null', 'disabled'].includes(value.toLowerCase())) return null;
  if (!isCronExpression(value)) throw usageError(`invalid cron expression for task ${task}: "${input}"`, 'use 5 fields (minute hour day-of-month month day-of-week), e.g. "15 3 * * *", or off');
  return value;
}

/** The config file's content for these answers (validated against the schema). */
export function buildInitConfig(answers: InitAnswers, schemaRef: string): Record<string, unknown> {
  const problem = databaseUrlFromProblem(answers.databaseUrlFrom);
  if (problem) throw usageError(`database URL source "${answers.databaseUrlFrom}": ${problem}`);
  for (const r of answers.encryptTo) {
    const p = ageRecipientProblem(r);
    if (p) throw usageError(p);
  }
  const config: Record<string, unknown> = { $schema: schemaRef };
  if (!ENV_NAME.test(answers.databaseUrlFrom.trim())) config.databaseUrl = answers.databaseUrlFrom.trim();
  config.backup = {
    dir: answers.backupDir,
    keepDaily: answers.keepDaily,
    keepWeekly: answers.keepWeekly,
    keepMonthly: answers.keepMonthly,
    ...(answers.encryptTo.length ? { encryptTo: answers.encryptTo.map((r) => r.trim()) } : {}),
  };
  config.schedule = Object.fromEntries(SCHEDULE_TASKS.map((t) => [t, answers.schedule[t]]));
  config.healthCheck = { thresholds: { connections: answers.connections, 'longest-transaction': answers.longestTransaction } };
  const result = validateConfig(config);
  if (!result.ok) throw usageError(result.message, result.hint);
  return config;
}

/**
 * Writes the config file and `bookingdb.schema.json` beside it. An existing config file
 * is kept unless `force` (exit 2): the exclusive create means two inits cannot both write.
 */
export async function writeInitFiles(configPath: string, answers: InitAnswers, force: boolean): Promise<{ configPath: string; schemaPath: string; config: Record<string, unknown> }> {
  const schemaPath = join(dirname(configPath), 'bookingdb.schema.json');
  const config = buildInitConfig(answers, `./${basename(schemaPath)}`);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (force) await writeFileAtomic(configPath, text);
  else {
    try {
      await writeFile(configPath, text, { flag: 'wx', mode: 0o644 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(configPath);
      throw error;
    }
  }
  await writeFileAtomic(schemaPath, `${JSON.stringify({ title: 'bookingdb.config.json', ...configJsonSchema() }, null, 2)}\n`);
  return { configPath, schemaPath, config };
}

export function existsError(configPath: string) {
  return usageError(`${configPath} exists: not overwritten`, 'pass --force to replace it, or edit it (bookingdb config check validates it)');
}

/** The commands to run after init, in order. */
export function nextSteps(answers: InitAnswers): string[] {
  const from = answers.databaseUrlFrom.trim();
  const steps: string[] = [];
  if (from === 'DATABASE_URL') steps.push("export DATABASE_URL='postgres://USER@HOST:5432/DATABASE'   # no password in it: put it in ~/.pgpass");
  else if (ENV_NAME.test(from)) steps.push(`export DATABASE_URL="$${from}"   # bookingdb reads DATABASE_URL; your URL is in ${from} (no password in it: ~/.pgpass)`);
  steps.push(`mkdir -p ${shellWord(answers.backupDir)} && chmod 700 ${shellWord(answers.backupDir)}`);
  steps.push('bookingdb config check');
  steps.push('bookingdb deploy');
  steps.push('bookingdb health-check');
  steps.push('bookingdb schedule --print-systemd   # a service unit; or --print-crontab for system cron');
  return steps;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
