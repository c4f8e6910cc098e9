import { performance } from 'node:perf_hooks';
import type { BenchOptions, Operation } from './options.js';
import { AHEAD_MS, offeredSlot, type Offer, type OfferStream } from './offers.js';
import { recordCall, type SystemStats } from './stats.js';
import type { System } from './systems.js';
import type { Target } from './targets.js';

/**
 * The worker loop: `clients` concurrent loops on one system, each call one transaction
 * taking the next offer of the run's shared OfferStream (./offers.ts: the same
 * operation, target, customer and slot picking for both systems), its latency (client
 * round trips included, as the app sees it) recorded in the operation's histogram. A
 * phase runs either until a deadline (the procedures) or exactly up to a given offer
 * (the anchor, replaying the slice the procedures ran). A booked slot leaves the
 * system's pool of free slots, a cancelled or moved-away one goes back into it. Cancel
 * and reschedule pick a booking this run made in this system (a cancel or reschedule
 * with none yet is a book).
 * Bookings to move or cancel start at least two minutes ahead, so nothing runs into the
 * past during the run; one too soon stays in the list (the cleanup cancels it).
 */

export function takeBooking(sys: System, ti: number, pick: number) {
  const made = sys.made[ti];
  const minStart = Date.now() + 2 * AHEAD_MS;
  for (let tries = 0; tries < 4 && made.length > 0; tries++) {
    const i = Math.floor(((pick + tries * 0.618034) % 1) * made.length);
    const b = made[i];
    if (b.startMs <= minStart) continue; // too soon to move or cancel: stays, for the cleanup
    made[i] = made[made.length - 1];
    made.pop();
    return b;
  }
  return undefined;
}

const noSlot = () => Object.assign(new Error('no future slot in the window'), { code: 'bench_no_slot' });

/** Runs one offer on `sys` (a cancel/reschedule without a booking to use is a book). */
async function runOnce(sys: System, targets: Target[], offer: Offer, stats: SystemStats | undefined): Promise<void> {
  const { ti, op } = offer;
  const t = targets[ti];
  let ran: Operation = op;
  let call: () => Promise<unknown>;
  const booking = op === 'cancel' || op === 'reschedule' ? takeBooking(sys, ti, offer.pick) : undefined;
  if (op === 'availability') {
    const day = t.days[Math.floor(offer.pick * t.days.length)];
    call = () => sys.calls.availability(t, new Date(day.from), new Date(day.to));
  } else if (booking && op === 'cancel') {
    call = async () => {
      await sys.calls.cancel(t, booking.id);
      sys.free[ti].add({ resourceId: booking.resourceId, startMs: booking.startMs });
    };
  } else if (booking && op === 'reschedule') {
    const slot = offeredSlot(offer, sys.free[ti]);
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
    const slot = offeredSlot(offer, sys.free[ti]);
    call = async () => {
      if (!slot) throw noSlot();
      const id = await sys.calls.book(t, slot, offer.customer);
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

/** Where a phase starts in the offer stream and when it ends: after `ms`, or at offer `until` (exclusive). */
export type PhaseSpan = { from: number; ms: number } | { from: number; until: number };

/**
 * `clients` loops on `sys` over the offers from `span.from` (stopping early on `signal`);
 * a timed phase starts no call after its deadline, so it ends when its last calls
 * return. Returns the phase's wall time, the bench process's CPU time during it (ms),
 * and the offer after the last one it ran.
 */
export async function runPhase(sys: System, targets: Target[], o: BenchOptions, stream: OfferStream, span: PhaseSpan,
  stats: SystemStats | undefined, signal?: AbortSignal): Promise<{ wallMs: number; cpuMs: number; until: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = span.from;
  const more = 'ms' in span ? () => performance.now() < t0 + span.ms : () => next < span.until;
  const loop = async () => {
    while (more() && !signal?.aborted) {
      await runOnce(sys, targets, stream.at(next++), stats);
    }
  };
  await Promise.all(Array.from({ length: o.clients }, loop));
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, until: next };
}
