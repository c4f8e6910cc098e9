import { validate } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE, scheduleEntries } from '../../src/schedule/config.js';
import { renderCrontab, renderSystemdUnit } from '../../src/schedule/render.js';
import { validateConfig } from '../../src/config/schema.js';

const inv = { node: '/usr/bin/node', bin: '/opt/book ing/bin/bookingdb.js', cwd: '/srv/booking 100%', globalArgs: ['--config', '/srv/booking/it\'s.json'] };

/** A crontab line as cron reads it: five time fields, then the command (to the end of the line). */
function parseCrontabLine(line: string): { fields: string[]; command: string } {
  const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(line);
  if (!m) throw new Error(`not a crontab line: ${line}`);
  return { fields: m.slice(1, 6), command: m[6]! };
}

describe('schedule --print-crontab / --print-systemd', () => {
  it('prints one crontab line per enabled task: five valid time fields, cd to the directory, absolute paths', () => {
    const { text, problems } = renderCrontab(scheduleEntries({ backup: null }), inv, '/var/log/bookingdb.log');
    expect(problems).toEqual([]);
    const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const { fields, command } = parseCrontabLine(line);
      expect(validate(fields.join(' '))).toBe(true);
      // cron turns an unescaped % into a newline: the directory's % is escaped
      expect(command).toMatch(/^cd '\/srv\/booking 100\\%' && \/usr\/bin\/node '\/opt\/book ing\/bin\/bookingdb\.js' --config '\/srv\/booking\/it'\\''s\.json' /);
      expect(command).toMatch(/ >> \/var\/log\/bookingdb\.log 2>&1$/);
    }
    expect(lines[0]).toBe(`${DEFAULT_SCHEDULE.maintain} ${parseCrontabLine(lines[0]!).command}`);
    expect(lines[0]).toContain(' maintain --skip-if-busy --quiet ');
    expect(lines[1]).toContain(' metrics --store --quiet ');
    expect(lines[2]).toContain(' restore-verify --quiet ');
  });

  it('sends the output to syslog through logger, and refuses a seconds field cron cannot express', () => {
    const { text } = renderCrontab(scheduleEntries({ maintain: '0 15 3 * * *' }), inv, 'syslog');
    const lines = text.split('\n').filter((l) => !l.startsWith('#'));
    expect(parseCrontabLine(lines[0]!).fields.join(' ')).toBe('15 3 * * *');
    for (const line of lines) expect(line).toMatch(/ 2>&1 \| logger -t bookingdb$/);
    expect(renderCrontab(scheduleEntries({ metrics: '*/10 * * * * *' }), inv, 'syslog').problems).toEqual([
      'metrics: "*/10 * * * * *" has a seconds field; crontab has minutes at the finest',
    ]);
  });

  it('prints a systemd unit for the long-running form', () => {
    const unit = renderSystemdUnit(inv, 600, 10);
    for (const line of ['Type=simple', 'WorkingDirectory=/srv/booking 100%', 'Restart=on-failure', 'KillSignal=SIGTERM', 'KillMode=mixed', 'TimeoutStopSec=615', 'RestartPreventExitStatus=2']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toContain(`ExecStart=/usr/bin/node "/opt/book ing/bin/bookingdb.js" --config "/srv/booking/it's.json" schedule`);
  });

  it('the config section: a bad expression names the task and the expression; null switches a task off', () => {
    const bad = validateConfig({ schedule: { backup: '61 * * * *' } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^schedule\.backup: not a valid cron expression for task backup .*got "61 \* \* \* \*"$/);
    expect(validateConfig({ schedule: { backup: null, metrics: '*/15 * * * *', shutdownTimeoutSeconds: 60 } }).ok).toBe(true);
    expect(scheduleEntries({ backup: null, metrics: '*/15 * * * *' }).map((e) => `${e.name} ${e.cron}`)).toEqual([
      `maintain ${DEFAULT_SCHEDULE.maintain}`, 'metrics */15 * * * *', `restore-verify ${DEFAULT_SCHEDULE['restore-verify']}`,
    ]);
  });
});
