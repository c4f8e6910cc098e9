import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createTask, type ScheduledTask } from 'node-cron';

/**
 * The long-running scheduler behind `bookingdb schedule`: each task is a command run as a
 * child process on its cron expression. A task never overlaps itself: a tick that comes
 * while its previous run is still going is skipped (an event says so). `stop()` stops
 * the ticks, lets running children finish for `shutdownTimeoutMs`, then sends SIGTERM
 * and, after `killGraceMs`, SIGKILL. It never prints: every start, end, skip and line of
 * a child's output is an event for the caller to render.
 *
 * Children run in their own process group (detached), so a Ctrl-C on the terminal
 * reaches only the scheduler, which decides when they stop.
 */
export interface ScheduleTask {
  name: string;
  cron: string;
  command: string;
  args: string[];
}

export type ScheduleEvent =
  | { type: 'start'; task: string; pid: number; at: Date }
  | { type: 'end'; task: string; pid: number; at: Date; durationMs: number; exitCode: number | null; signal: string | null }
  | { type: 'skip'; task: string; at: Date; runningPid: number; runningSinceMs: number }
  | { type: 'error'; task: string; at: Date; message: string }
  | { type: 'output'; task: string; at: Date; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'stopping'; at: Date; running: string[] }
  | { type: 'terminate'; task: string; at: Date; pid: number; signal: 'SIGTERM' | 'SIGKILL' };

export interface ScheduleOptions {
  tasks: ScheduleTask[];
  onEvent: (event: ScheduleEvent) => void;
  shutdownTimeoutMs: number;
  /** After SIGTERM, how long a child has before SIGKILL (default 10 s). */
  killGraceMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
}

export interface Scheduler {
  /** Names of the tasks whose child is running now. */
  running(): string[];
  /** When each task runs next (null once stopped). */
  nextRuns(): { task: string; at: Date | null }[];
  /** Stops scheduling and ends the children as described above; resolves when none is left. */
  stop(): Promise<void>;
  /** Ends running children now (SIGTERM, then SIGKILL after the grace): a second signal. */
  terminateNow(): void;
}

interface Run {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<void>;
}

export function startSchedule(options: ScheduleOptions): Scheduler {
  const spawn = options.spawn ?? nodeSpawn;
  const killGraceMs = options.killGraceMs ?? 10_000;
  const runs = new Map<string, Run>();
  const crons: ScheduledTask[] = [];
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const emit = options.onEvent;

  const launch = (task: ScheduleTask): void => {
    if (stopping) return;
    const current = runs.get(task.name);
    if (current) {
      emit({ type: 'skip', task: task.name, at: new Date(), runningPid: current.child.pid ?? 0, runningSinceMs: Date.now() - current.startedAt });
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(task.command, task.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      emit({ type: 'error', task: task.name, at: new Date(), message: (error as Error).message });
      return;
    }
    const startedAt = Date.now();
    const exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return false;
        done = true;
        runs.delete(task.name);
        resolve();
        return true;
      };
      child.on('error', (error) => {
        emit({ type: 'error', task: task.name, at: new Date(), message: error.message });
        if (child.pid === undefined) finish(); // it never started: no 'close' to wait for
      });
      child.on('close', (exitCode, signal) => {
        if (finish() && child.pid !== undefined) {
          emit({ type: 'end', task: task.name, pid: child.pid, at: new Date(), durationMs: Date.now() - startedAt, exitCode, signal });
        }
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source) createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => emit({ type: 'output', task: task.name, at: new Date(), stream, line }));
    }
    runs.set(task.name, { child, startedAt, exited });
    if (child.pid !== undefined) emit({ type: 'start', task: task.name, pid: child.pid, at: new Date() });
  };

  for (const task of options.tasks) {
    // noOverlap is ours (launch returns at once and tracks the child), so node-cron's is off
    const cron = createTask(task.cron, () => launch(task), { name: task.name, suppressMissedWarning: true, logger: quietLogger });
    crons.push(cron);
    void cron.start();
  }

  const signalAll = (signal: 'SIGTERM' | 'SIGKILL') => {
    for (const [name, run] of runs) {
      if (run.child.pid === undefined) continue;
      emit({ type: 'terminate', task: name, at: new Date(), pid: run.child.pid, signal });
      killGroup(run.child, signal);
    }
  };

  let graceTimer: NodeJS.Timeout | undefined;
  const terminateNow = () => {
    if (graceTimer) return;
    signalAll('SIGTERM');
    graceTimer = setTimeout(() => signalAll('SIGKILL'), killGraceMs);
  };

  return {
    running: () => [...runs.keys()],
    nextRuns: () => crons.map((c, i) => ({ task: options.tasks[i]!.name, at: stopping ? null : c.getNextRun() })),
    terminateNow,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        for (const cron of crons) await cron.destroy();
        emit({ type: 'stopping', at: new Date(), running: [...runs.keys()] });
        const all = () => Promise.all([...runs.values()].map((r) => r.exited));
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.shutdownTimeoutMs)));
        const first = await Promise.race([all().then(() => 'done' as const), timeout]);
        clearTimeout(timer);
        if (first === 'timeout') terminateNow();
        await all();
        clearTimeout(graceTimer);
      })();
      return stopped;
    },
  };
}

/** Signals the child's process group (it was spawned detached), else the child alone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
