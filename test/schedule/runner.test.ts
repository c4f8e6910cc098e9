import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSchedule, type ScheduleEvent, type ScheduleTask, type Scheduler } from '../../src/schedule/runner.js';

/**
 * The scheduler core with tiny node scripts as the tasks, on per-second expressions.
 * Slow children wait for a file the test creates, so nothing depends on timing.
 */
const node = process.execPath;
let scheduler: Scheduler | undefined;

afterEach(async () => {
  scheduler?.terminateNow();
  await scheduler?.stop();
  scheduler = undefined;
});

function recorder() {
  const events: ScheduleEvent[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const onEvent = (e: ScheduleEvent) => {
    events.push(e);
    for (const w of [...waiters]) if (w.test()) [waiters.splice(waiters.indexOf(w), 1), w.resolve()];
  };
  const until = (test: (events: ScheduleEvent[]) => boolean) =>
    new Promise<void>((resolve) => (test(events) ? resolve() : waiters.push({ test: () => test(events), resolve })));
  return { events, onEvent, until };
}

/** A child that prints ready, runs until `file` exists (polling), then exits 0; `ignoreTerm` makes it deaf to SIGTERM. */
function waitForFile(file: string, ignoreTerm = false): string[] {
  return ['-e', `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} const fs = require('fs'); const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(file)})) { clearInterval(t); } }, 20); console.log('ready');`];
}

function start(tasks: ScheduleTask[], rec: ReturnType<typeof recorder>, extra: { shutdownTimeoutMs?: number; killGraceMs?: number } = {}) {
  scheduler = startSchedule({ tasks, onEvent: rec.onEvent, shutdownTimeoutMs: extra.shutdownTimeoutMs ?? 30_000, killGraceMs: extra.killGraceMs ?? 10_000 });
  return scheduler;
}

const count = (events: ScheduleEvent[], type: ScheduleEvent['type'], task?: string) => events.filter((e) => e.type === type && (!task || ('task' in e && e.task === task))).length;

describe('schedule runner', () => {
  it('fires a task on a per-second expression, with its output and exit status', async () => {
    const rec = recorder();
    start([{ name: 'hello', cron: '* * * * * *', command: node, args: ['-e', 'console.log("hello from the task"); process.exit(3)'] }], rec);
    await rec.until((ev) => count(ev, 'end', 'hello') >= 1);
    const ends = rec.events.filter((e) => e.type === 'end');
    expect(ends[0]).toMatchObject({ task: 'hello', exitCode: 3, signal: null });
    expect(rec.events).toContainEqual(expect.objectContaining({ type: 'output', task: 'hello', stream: 'stdout', line: 'hello from the task' }));
    // a tick is skipped only while a run is in progress (on a loaded machine node may take
    // longer than a second to start): each skip names a run that started and had not ended
    rec.events.forEach((e, i) => {
      if (e.type !== 'skip') return;
      const before = rec.events.slice(0, i);
      expect(before.some((b) => b.type === 'start' && b.pid === e.runningPid)).toBe(true);
      expect(before.some((b) => b.type === 'end' && b.pid === e.runningPid)).toBe(false);
    });
  });

  it('never overlaps a slow task: ticks while it runs are skipped, naming the running pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
    const release = join(dir, 'release');
    const rec = recorder();
    start([{ name: 'slow', cron: '* * * * * *', command: node, args: waitForFile(release) }], rec);
    await rec.until((ev) => count(ev, 'skip', 'slow') >= 1);
    writeFileSync(release, '');
    await rec.until((ev) => count(ev, 'end', 'slow') >= 1);
    const first = rec.events.find((e) => e.type === 'start')!;
    const firstEnd = rec.events.findIndex((e) => e.type === 'end');
    // one run at a time: nothing else started before the first run ended
    expect(rec.events.slice(0, firstEnd).filter((e) => e.type === 'start')).toHaveLength(1);
    expect(rec.events.filter((e) => e.type === 'skip')[0]).toMatchObject({ task: 'slow', runningPid: first.type === 'start' ? first.pid : -1 });
    expect(rec.events[firstEnd]).toMatchObject({ exitCode: 0 });
  });

  it('stop lets a running task finish, and schedules nothing after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
    const release = join(dir, 'release');
    const rec = recorder();
    const s = start([{ name: 'job', cron: '* * * * * *', command: node, args: waitForFile(release) }], rec);
    await rec.until((ev) => count(ev, 'start') === 1);
    const stopped = s.stop();
    await rec.until((ev) => count(ev, 'stopping') === 1);
    expect(s.running()).toEqual(['job']);
    writeFileSync(release, '');
    await stopped;
    expect(rec.events.filter((e) => e.type === 'end')).toEqual([expect.objectContaining({ task: 'job', exitCode: 0 })]);
    expect(count(rec.events, 'terminate')).toBe(0);
    expect(count(rec.events, 'start')).toBe(1);
    expect(s.nextRuns()).toEqual([{ task: 'job', at: null }]);
  });

  it('after the shutdown timeout it sends SIGTERM, then SIGKILL to a child that ignores it', async () => {
    const never = join(mkdtempSync(join(tmpdir(), 'schedule-')), 'never');
    const rec = recorder();
    const s = start([
      { name: 'polite', cron: '* * * * * *', command: node, args: waitForFile(never) },
      { name: 'deaf', cron: '* * * * * *', command: node, args: waitForFile(never, true) },
    ], rec, { shutdownTimeoutMs: 200, killGraceMs: 300 });
    // ready: the deaf child has its SIGTERM handler in place
    await rec.until((ev) => ev.filter((e) => e.type === 'output' && e.line === 'ready').length === 2);
    await s.stop();
    expect(existsSync(never)).toBe(false);
    const end = (task: string) => rec.events.find((e) => e.type === 'end' && e.task === task);
    expect(end('polite')).toMatchObject({ signal: 'SIGTERM' });
    expect(end('deaf')).toMatchObject({ signal: 'SIGKILL' });
    expect(rec.events.filter((e) => e.type === 'terminate').map((e) => e.type === 'terminate' && `${e.task} ${e.signal}`).sort())
      .toEqual(['deaf SIGKILL', 'deaf SIGTERM', 'polite SIGTERM']);
  });

  it('a command that cannot start is an error event, not a crash', async () => {
    const rec = recorder();
    start([{ name: 'missing', cron: '* * * * * *', command: '/nonexistent/bookingdb-test-binary', args: [] }], rec);
    await rec.until((ev) => count(ev, 'error', 'missing') >= 1);
    expect(rec.events.find((e) => e.type === 'error')).toMatchObject({ message: expect.stringContaining('ENOENT') });
  });
});
