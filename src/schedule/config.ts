import { validate } from 'node-cron';
import { z } from 'zod';

/**
 * The `schedule` section of the config file: a cron expression per task (5 fields, or 6
 * with seconds first, as node-cron reads them), or null to switch the task off; a
 * missing key keeps the default. The defaults follow the seeds' crontab and the
 * freshness checks of `health-check` (last-maintain 26 h, last-metrics-store 30 min,
 * last-backup 26 h, last-restore-verify 8 days).
 *
 *   "schedule": { "maintain": "15 3 * * *", "backup": null, "shutdownTimeoutSeconds": 600 }
 */
export const SCHEDULE_TASKS = ['maintain', 'metrics', 'backup', 'restore-verify'] as const;
export type ScheduleTaskName = (typeof SCHEDULE_TASKS)[number];

export const DEFAULT_SCHEDULE: Record<ScheduleTaskName, string> = {
  maintain: '15 3 * * *',
  metrics: '*/5 * * * *',
  backup: '30 2 * * *',
  'restore-verify': '45 4 * * 0',
};

/** The CLI arguments each task runs with (cron wants quiet runs that never queue). */
export const TASK_ARGS: Record<ScheduleTaskName, string[]> = {
  maintain: ['maintain', '--skip-if-busy', '--quiet'],
  metrics: ['metrics', '--store', '--quiet'],
  backup: ['backup', '--quiet'],
  'restore-verify': ['restore-verify', '--quiet'],
};

export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 300;

/** True when node-cron accepts the expression (5 fields, or 6 with seconds). */
export function isCronExpression(expression: string): boolean {
  try {
    return expression.trim() !== '' && validate(expression);
  } catch {
    return false;
  }
}

const cron = (task: ScheduleTaskName) =>
  z
    .string()
    .refine(isCronExpression, { error: `not a valid cron expression for task ${task} (5 fields: minute hour day-of-month month day-of-week; or 6 with seconds first)` })
    .nullable()
    .optional()
    .describe(`cron expression of \`bookingdb ${TASK_ARGS[task].join(' ')}\` (default "${DEFAULT_SCHEDULE[task]}"), null to switch it off`);

export const scheduleConfigSchema = z.strictObject({
  maintain: cron('maintain'),
  metrics: cron('metrics'),
  backup: cron('backup'),
  'restore-verify': cron('restore-verify'),
  shutdownTimeoutSeconds: z
    .number().int().min(1).max(86_400).optional()
    .describe(`seconds a running task may take to finish after SIGTERM before it is stopped (1 to 86400, default ${DEFAULT_SHUTDOWN_TIMEOUT_SECONDS})`),
});

export type ScheduleConfig = z.infer<typeof scheduleConfigSchema>;

export interface ScheduleEntry {
  name: ScheduleTaskName;
  cron: string;
  args: string[];
}

/** The enabled tasks with their expressions: the config's, else the defaults. */
export function scheduleEntries(config: ScheduleConfig | undefined): ScheduleEntry[] {
  const entries: ScheduleEntry[] = [];
  for (const name of SCHEDULE_TASKS) {
    const value = config?.[name];
    if (value === null) continue;
    entries.push({ name, cron: value ?? DEFAULT_SCHEDULE[name], args: TASK_ARGS[name] });
  }
  return entries;
}
