import { performance } from 'node:perf_hooks';
import { pickOperation, type BenchOptions, type Operation } from './options.js';
import { recordCall, type SystemStats } from './stats.js';
import type { Slot } from './slots.js';
import type { System } from './systems.js';
import type { Target } from './targets.js';

/**
 * The worker loop: `clients` concurrent loops on one system until a deadline, each call
 * one transaction, its latency (client round trips included, as the app sees it)
 * recorded in the operation's histogram. Inputs are realistic and the same for both
 * systems: a random target (tenant, service, its resources), a random customer, a
 * random local day of the window; `book` takes with probability freeShare a slot that
 * available_slots offered at the start and this system has not booked since (so it
 * succeeds like a real user's), else a random slot in working hours (23P01 when taken);
 * cancel and reschedule pick a booking this run made in this system (a cancel with none
 * yet is a book). Slots start at least a minute ahead, bookings to move or cancel at
 * least two, so nothing runs into the past during the run.
 */
const AHEAD_MS = 60_000;

const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: T[]): T => xs[rand(xs.length)];

function gridSlot(t: Target, minStart: number): Slot | undefined {
  let lo = 0;
  let hi = t.grid.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.grid[mid].startMs <= minStart) lo = mid + 1;
    else hi = mid;
  }
  return lo < t.grid.length ? t.grid[lo + rand(t.grid.length - lo)] : undefined;
}

function chooseSlot(sys: System, ti: number, t: Target, freeShare: number): Slot | undefined {
  const minStart = Date.now() + AHEAD_MS;
  if (Math.random() < freeShare) {
    const s = sys.free[ti].take(minStart);
    if (s) return s;
  }
  return gridSlot(t, minStart);
}

function takeBooking(sys: System, ti: number) {
  const made = sys.made[ti];
  const minStart = Date.now() + 2 * AHEAD_MS;
  for (let tries = 0; tries < 4 && made.length > 0; tries++) {
    const i = rand(made.length);
    const b = made[i];
    made[i] = made[made.length - 1];
    made.pop();
    if (b.startMs > minStart) return b;
  }
  return undefined;
}

const noSlot = () => Object.assign(new Error('no future slot in the window'), { code: 'bench_no_slot' });

/** Runs one call of `op` (or a book, for a cancel/reschedule without a booking to use); returns what ran. */
async function runOnce(sys: System, targets: Target[], o: BenchOptions, op: Operation, stats: SystemStats | undefined): Promise<void> {
  const ti = rand(targets.length);
  const t = targets[ti];
  let ran: Operation = op;
  let call: () => Promise<unknown>;
  const booking = op === 'cancel' || op === 'reschedule' ? takeBooking(sys, ti) : undefined;
  if (op === 'availability') {
    const day = pick(t.days);
    call = () => sys.calls.availability(t, new Date(day.from), new Date(day.to));
  } else if (booking && op === 'cancel') {
    call = async () => {
      await sys.calls.cancel(t, booking.id);
      sys.free[ti].add({ resourceId: booking.resourceId, startMs: booking.startMs });
    };
  } else if (booking && op === 'reschedule') {
    const slot = chooseSlot(sys, ti, t, o.freeShare);
    call = async () => {
      if (!slot) throw noSlot();
      try {
        await sys.calls.reschedule(t, booking.id, slot);
      } catch (error) {
        sys.made[ti].push(booking); // unchanged: still bookable to move or cancel
        throw error;
      }
      sys.free[ti].remove(slot);
      sys.free[ti].add({ resourceId: booking.resourceId, startMs: booking.startMs });
      sys.made[ti].push({ ...slot, id: booking.id });
    };
  } else {
    ran = 'book';
    const slot = chooseSlot(sys, ti, t, o.freeShare);
    const customer = pick(t.customers);
    call = async () => {
      if (!slot) throw noSlot();
      const id = await sys.calls.book(t, slot, customer);
      sys.free[ti].remove(slot);
      sys.made[ti].push({ ...slot, id });
    };
  }
  const t0 = performance.now();
  let failure: unknown;
  try {
    await call();
  } catch (error) {
    failure = error ?? new Error('failed');
  }
  if (stats) recordCall(stats[ran], (performance.now() - t0) * 1000, failure);
}

/**
 * `clients` loops on `sys` for `ms` (stopping early on `signal`); a loop starts no call
 * after the deadline, so a phase ends when its last calls return. Returns the phase's
 * wall time and the bench process's CPU time during it (ms).
 */
export async function runPhase(sys: System, targets: Target[], o: BenchOptions, ms: number, stats: SystemStats | undefined,
  signal?: AbortSignal): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + ms;
  const loop = async () => {
    while (performance.now() < deadline && !signal?.aborted) {
      await runOnce(sys, targets, o, pickOperation(o.mix, Math.random()), stats);
    }
  };
  await Promise.all(Array.from({ length: o.clients }, loop));
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}
