import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir } from '../helpers/cli.js';
import { ageRecipientProblem, databaseUrlFromProblem, parseScheduleAnswer } from '../../src/init/init.js';

const AGE_KEY = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

describe('bookingdb init', () => {
  it('--yes with flags writes a config file (and its schema) that config check accepts, then prints the next commands', async () => {
    const cwd = scratchDir();
    const r = await runCli(['init', '--yes', '--database-url-env', 'BOOKING_DB_URL', '--backup-dir', '/var/backups/booking', '--keep-daily', '10',
      '--encrypt-to', AGE_KEY, '--maintain-cron', '0 4 * * *', '--backup-cron', 'off', '--connections-warning', '70'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(readFileSync(join(cwd, 'bookingdb.config.json'), 'utf8'));
    expect(file).toMatchObject({
      $schema: './bookingdb.schema.json',
      backup: { dir: '/var/backups/booking', keepDaily: 10, keepWeekly: 4, keepMonthly: 12, encryptTo: [AGE_KEY] },
      schedule: { maintain: '0 4 * * *', metrics: '*/5 * * * *', backup: null, 'restore-verify': '45 4 * * 0' },
      healthCheck: { thresholds: { connections: { warning: 70, critical: 95 } } },
    });
    expect(JSON.stringify(file)).not.toContain('BOOKING_DB_URL'); // the URL stays in the environment
    const schema = JSON.parse(readFileSync(join(cwd, 'bookingdb.schema.json'), 'utf8'));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['backup', 'schedule']));
    expect(r.stdout).toContain('export DATABASE_URL="$BOOKING_DB_URL"');
    expect(r.stdout).toContain('bookingdb deploy');
    const check = await runCli(['config', 'check'], { cwd });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('is valid: sets healthCheck, backup, schedule');
  });

  it('refuses to overwrite an existing file without --force (exit 2, file unchanged), replaces it with --force', async () => {
    const cwd = scratchDir();
    const path = join(cwd, 'bookingdb.config.json');
    writeFileSync(path, '{ "not": "valid for the schema" }');
    const refused = await runCli(['init', '--yes'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${path} exists: not overwritten`);
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(path, 'utf8')).toBe('{ "not": "valid for the schema" }');
    // --force works even though the old file is invalid (init does not load it)
    const forced = await runCli(['init', '--yes', '--force'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8')).schedule.maintain).toBe('15 3 * * *');
    expect((await runCli(['config', 'check'], { cwd })).code).toBe(0);
  });

  it('never writes a password, asks only on a terminal, and names a bad flag (exit 2, no file)', async () => {
    const cwd = scratchDir();
    const cases: [string[], RegExp][] = [
      [['--database-url-env', 'postgres://app:s3cret@db.example.com/booking'], /--database-url-env: refused: that URL holds a password/],
      [['--encrypt-to', 'AGE-SECRET-KEY-1QQQ'], /--encrypt-to: refused: that is an age SECRET key/],
      [['--metrics-cron', '*/5 * * *'], /invalid cron expression for task metrics: "\*\/5 \* \* \*"/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['init', '--yes', ...flags], { cwd });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr + r.stdout).not.toContain('s3cret');
    }
    const noTty = await runCli(['init'], { cwd });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('pass --yes');
    expect((await runCli(['config', 'check'], { cwd })).stdout).toContain('no config file here');
  });

  it('the answer checks the prompts share with the flags', () => {
    expect(databaseUrlFromProblem('DATABASE_URL')).toBeUndefined();
    expect(databaseUrlFromProblem('postgres://app@db.example.com:5432/booking')).toBeUndefined();
    expect(databaseUrlFromProblem('postgresql://app:pw@db/booking')).toMatch(/^refused/);
    expect(databaseUrlFromProblem('postgres://app@db/booking?password=pw')).toMatch(/^refused/);
    expect(databaseUrlFromProblem('hunter2!')).toMatch(/NAME of an environment variable/);
    expect(ageRecipientProblem(AGE_KEY)).toBeUndefined();
    expect(ageRecipientProblem('age1short')).toMatch(/not an age public key/);
    expect(ageRecipientProblem(AGE_KEY.toUpperCase())).toMatch(/not an age public key/);
    expect(parseScheduleAnswer('backup', 'off')).toBeNull();
    expect(parseScheduleAnswer('metrics', ' */15 * * * * ')).toBe('*/15 * * * *');
    expect(() => parseScheduleAnswer('maintain', '99 * * * *')).toThrow(/task maintain: "99 \* \* \* \*"/);
  });
});
