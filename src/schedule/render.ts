import type { ScheduleEntry } from './config.js';
import type { ScheduleEvent } from './runner.js';

/**
 * Text for `bookingdb schedule`: one timestamped log line per event (what journald or a
 * container log keeps), and the equivalent crontab lines or systemd unit.
 */
export function renderEvent(event: ScheduleEvent): string {
  const at = event.at.toISOString();
  switch (event.type) {
    case 'start':
      return `${at} ${event.task}: started (pid ${event.pid})`;
    case 'end': {
      const status = event.signal ? `killed by ${event.signal}` : event.exitCode === 0 ? 'ok (exit 0)' : `failed (exit ${event.exitCode})`;
      return `${at} ${event.task}: ${status} after ${seconds(event.durationMs)}`;
    }
    case 'skip':
      return `${at} ${event.task}: skipped: the previous run (pid ${event.runningPid}) is still running after ${seconds(event.runningSinceMs)}`;
    case 'error':
      return `${at} ${event.task}: error: ${event.message}`;
    case 'output':
      return `${at} ${event.task}> ${event.line}`;
    case 'stopping':
      return `${at} stopping: no new runs${event.running.length ? `; waiting for ${event.running.join(', ')}` : ''}`;
    case 'terminate':
      return `${at} ${event.task}: sending ${event.signal} to pid ${event.pid} (shutdown timeout passed)`;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Single-quotes a word for sh (crontab commands run through /bin/sh). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A crontab command line: `%` is a newline there unless escaped. */
function crontabEscape(command: string): string {
  return command.replace(/%/g, '\\%');
}

export interface Invocation {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of bin/bookingdb.js. */
  bin: string;
  /** The working directory (where bookingdb.config.json is). */
  cwd: string;
  /** Global flags every run gets (e.g. --config PATH). */
  globalArgs: string[];
}

/** The five crontab time fields of an expression, or why it has none (a seconds field). */
export function crontabFields(cron: string): { fields: string } | { problem: string } {
  const parts = cron.trim().split(/\s+/);
  if (parts.length === 5) return { fields: parts.join(' ') };
  if (parts.length === 6 && parts[0] === '0') return { fields: parts.slice(1).join(' ') };
  return { problem: `"${cron}" has a seconds field; crontab has minutes at the finest` };
}

/**
 * The crontab lines equivalent to `bookingdb schedule`. Output goes to `log` (a file,
 * appended) or, when log is 'syslog', through `logger -t bookingdb`. Expressions with a
 * seconds field other than 0 cannot be written and are returned as problems.
 */
export function renderCrontab(entries: ScheduleEntry[], inv: Invocation, log: string): { text: string; problems: string[] } {
  const lines = [
    '# bookingdb schedule as crontab lines (crontab -e). cron does not read your shell profile:',
    '# set DATABASE_URL (without a password: use ~/.pgpass) on a line of its own above these, or use the config file.',
  ];
  const problems: string[] = [];
  const sink = log === 'syslog' ? '2>&1 | logger -t bookingdb' : `>> ${shellQuote(log)} 2>&1`;
  for (const entry of entries) {
    const time = crontabFields(entry.cron);
    if ('problem' in time) {
      problems.push(`${entry.name}: ${time.problem}`);
      continue;
    }
    const command = ['cd', shellQuote(inv.cwd), '&&', shellQuote(inv.node), shellQuote(inv.bin), ...inv.globalArgs.map(shellQuote), ...entry.args.map(shellQuote), sink].join(' ');
    lines.push(`${time.fields} ${crontabEscape(command)}`);
  }
  return { text: lines.join('\n'), problems };
}

/** A systemd word: quoted when it holds a space or a quote. */
function systemdWord(word: string): string {
  return /^[^\s"'\\]+$/.test(word) ? word : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A service unit for the long-running form. KillMode=mixed: SIGTERM goes to the scheduler
 * only (it lets the running task finish), SIGKILL to everything left at TimeoutStopSec,
 * which is the shutdown timeout plus the scheduler's own kill grace and a margin.
 */
export function renderSystemdUnit(inv: Invocation, shutdownTimeoutSeconds: number, killGraceSeconds: number): string {
  const exec = [inv.node, inv.bin, ...inv.globalArgs, 'schedule'].map(systemdWord).join(' ');
  return [
    '# /etc/systemd/system/bookingdb-schedule.service, then: systemctl daemon-reload && systemctl enable --now bookingdb-schedule',
    '[Unit]',
    'Description=bookingdb schedule: maintain, metrics --store, backup and restore-verify on their cron expressions',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${inv.cwd}`,
    `ExecStart=${exec}`,
    '# the database URL without a password (the password in ~/.pgpass of the service user):',
    '# Environment=DATABASE_URL=postgres://bookingdb_owner@db.example.com:5432/booking',
    '# User=bookingdb',
    'Environment=NO_COLOR=1',
    'Restart=on-failure',
    'RestartSec=30',
    'RestartPreventExitStatus=2', // a configuration error: restarting would not fix it
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${shutdownTimeoutSeconds + killGraceSeconds + 5}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}
