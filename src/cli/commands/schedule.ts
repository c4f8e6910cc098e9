import type { Command } from 'commander';
import { isAbsolute, join, resolve } from 'node:path';
import { action } from './action.js';
import { usageError } from '../../errors.js';
import { redactSecrets } from '../../db/url.js';

/**
 * `bookingdb schedule`: the long-running scheduler (systemd or a container's main
 * process), or with --print-crontab / --print-systemd the text to install the same
 * schedule elsewhere. Reads only the config file (the `schedule` section); each task
 * runs as a child `bookingdb` process, which connects on its own. Exit 0 after a
 * SIGTERM/SIGINT shutdown; non-zero only for a configuration error (exit 2).
 */
export function registerSchedule(program: Command): void {
  program.command('schedule')
    .description('run maintain, metrics --store, backup and restore-verify on the cron expressions of the config file (section "schedule")')
    .option('--print-crontab', 'print the equivalent crontab lines instead of running')
    .option('--print-systemd', 'print a systemd service unit for this long-running form instead of running')
    .option('--log <file|syslog>', 'with --print-crontab: append the output to this file (default ./bookingdb-cron.log), or "syslog" for logger -t bookingdb')
    .addHelpText('after', '\nexamples:\n  bookingdb schedule                                   # in the foreground, one log line per run\n  bookingdb schedule --print-crontab --log syslog | crontab -\n  bookingdb schedule --print-systemd > /etc/systemd/system/bookingdb-schedule.service')
    .action(action(async (ctx, opts) => {
      const { scheduleEntries, DEFAULT_SHUTDOWN_TIMEOUT_SECONDS } = await import('../../schedule/config.js');
      const { packageRoot } = await import('../../paths.js');
      const entries = scheduleEntries(ctx.config.schedule);
      const shutdownTimeoutSeconds = ctx.config.schedule?.shutdownTimeoutSeconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS;
      const killGraceSeconds = 10;
      const configPath = opts.config ? resolve(ctx.cwd, String(opts.config)) : undefined;
      const inv = { node: process.execPath, bin: join(packageRoot, 'bin', 'bookingdb.js'), cwd: ctx.cwd, globalArgs: configPath ? ['--config', configPath] : [] };
      const render = await import('../../schedule/render.js');
      if (opts.printCrontab && opts.printSystemd) throw usageError('--print-crontab and --print-systemd exclude each other', 'pass one of them');
      if (opts.printCrontab) {
        const log = opts.log === undefined ? join(ctx.cwd, 'bookingdb-cron.log') : String(opts.log) === 'syslog' ? 'syslog' : resolve(ctx.cwd, String(opts.log));
        const { text, problems } = render.renderCrontab(entries, inv, log);
        if (problems.length) throw usageError(`cannot write as crontab lines: ${problems.join('; ')}`, 'use 5-field expressions (or 6 with seconds 0) in the config file, or run bookingdb schedule');
        ctx.out.printSecret(text); // paths only: nothing to redact, and print() would drop it under --json
        return;
      }
      if (opts.log !== undefined) throw usageError('--log applies to --print-crontab only', 'bookingdb schedule logs to stdout: redirect it, or let systemd keep it');
      if (opts.printSystemd) {
        ctx.out.printSecret(render.renderSystemdUnit(inv, shutdownTimeoutSeconds, killGraceSeconds));
        return;
      }
      if (!isAbsolute(inv.bin)) throw new Error(`package bin path is not absolute: ${inv.bin}`);
      return runInForeground(ctx.out.quiet, Boolean(opts.json), entries.map((e) => ({ name: e.name, cron: e.cron, command: inv.node, args: [inv.bin, ...inv.globalArgs, ...e.args] })), shutdownTimeoutSeconds, killGraceSeconds, ctx.cwd);
    }));
}

async function runInForeground(quiet: boolean, json: boolean, tasks: import('../../schedule/runner.js').ScheduleTask[], shutdownTimeoutSeconds: number, killGraceSeconds: number, cwd: string): Promise<number> {
  const { startSchedule } = await import('../../schedule/runner.js');
  const { renderEvent } = await import('../../schedule/render.js');
  const write = (line: string) => process.stdout.write(`${redactSecrets(line)}\n`);
  const onEvent = (event: import('../../schedule/runner.js').ScheduleEvent) => {
    const routine = event.type === 'start' || event.type === 'output' || (event.type === 'end' && event.exitCode === 0);
    if (quiet && routine) return;
    write(json ? JSON.stringify(event) : renderEvent(event));
  };
  if (tasks.length === 0) write(`${new Date().toISOString()} every task is switched off (schedule.* = null): waiting for SIGTERM`);
  const scheduler = startSchedule({ tasks, onEvent, shutdownTimeoutMs: shutdownTimeoutSeconds * 1000, killGraceMs: killGraceSeconds * 1000, cwd });
  if (!json && !quiet) {
    for (const { task, at } of scheduler.nextRuns()) write(`${new Date().toISOString()} ${task}: scheduled "${tasks.find((t) => t.name === task)!.cron}", next run ${at?.toISOString() ?? 'never'}`);
  }
  // an idle scheduler has nothing keeping the event loop alive once the ticks stop
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((done) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals === 1) {
        write(`${new Date().toISOString()} ${signal}: shutting down (running tasks get ${shutdownTimeoutSeconds} s; send it again to stop them now)`);
        void scheduler.stop().then(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          done();
        });
      } else scheduler.terminateNow();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  clearInterval(keepAlive);
  write(`${new Date().toISOString()} stopped`);
  return 0;
}
