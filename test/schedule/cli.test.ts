import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli, scratchDir } from '../helpers/cli.js';

/**
 * `bookingdb schedule` through the built CLI. The task that fires is `metrics --store`
 * against a port nothing listens on: a real child `bookingdb` that fails fast (exit 3),
 * which the scheduler logs and outlives.
 */
function writeConfig(cwd: string, schedule: Record<string, unknown>): void {
  writeFileSync(join(cwd, 'bookingdb.config.json'), JSON.stringify({ schedule }));
}

describe('bookingdb schedule (CLI)', () => {
  it('runs a per-second task, logs each start and end, and stops cleanly on SIGTERM with exit 0', async () => {
    const cwd = scratchDir();
    writeConfig(cwd, { maintain: null, backup: null, 'restore-verify': null, metrics: '* * * * * *', shutdownTimeoutSeconds: 30 });
    const child = spawn(process.execPath, [join(repoRoot, 'bin/bookingdb.js'), 'schedule'], {
      cwd, env: { ...process.env, NO_COLOR: '1', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        // after one whole run, and while the next one is running: the shutdown waits for it
        if (!signalled && /metrics: failed \(exit 3\) after/.test(stdout) && (stdout.match(/metrics: started/g) ?? []).length >= 2) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code, stderr + stdout).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\S+Z metrics: scheduled "\* \* \* \* \* \*", next run \S+Z$/);
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z metrics: started \(pid \d+\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z metrics> error: connection refused/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z SIGTERM: shutting down/));
    expect(lines.at(-1)).toMatch(/^\S+Z stopped$/);
    // every run that started also ended: the shutdown let the running one finish
    expect(lines.filter((l) => / metrics: started /.test(l)).length).toBe(lines.filter((l) => / metrics: failed \(exit 3\) after /.test(l)).length);
  });

  it('an invalid cron expression is exit 2 naming the task and the expression', async () => {
    const cwd = scratchDir();
    writeConfig(cwd, { maintain: '61 3 * * *' });
    const r = await runCli(['schedule'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schedule.maintain: not a valid cron expression for task maintain');
    expect(r.stderr).toContain('got "61 3 * * *"');
  });

  it('--print-crontab prints lines cron parses, with the absolute paths of node and the CLI', async () => {
    const cwd = scratchDir();
    writeConfig(cwd, { backup: null, metrics: '*/15 * * * *' });
    const r = await runCli(['schedule', '--print-crontab'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').filter((l) => !l.startsWith('#'));
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const m = /^(\S+ \S+ \S+ \S+ \S+) cd (\S+) && (\S+) (\S+) (.+)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(validate(m![1]!)).toBe(true);
      expect(m![2]).toBe(cwd);
      expect(m![3]).toBe(process.execPath);
      expect(m![4]).toBe(join(repoRoot, 'bin/bookingdb.js'));
      expect(m![5]).toMatch(new RegExp(`--quiet >> ${join(cwd, 'bookingdb-cron.log')} 2>&1$`));
    }
    expect(lines[1]).toMatch(/^\*\/15 \* \* \* \* .* metrics --store --quiet /);
    const unit = await runCli(['schedule', '--print-systemd'], { cwd });
    expect(unit.code).toBe(0);
    expect(unit.stdout).toContain(`ExecStart=${process.execPath} ${join(repoRoot, 'bin/bookingdb.js')} schedule\n`);
    expect(unit.stdout).toContain(`WorkingDirectory=${cwd}\n`);
  });
});
