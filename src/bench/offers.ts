import { pickOperation, type BenchOptions, type Operation } from './options.js';
import type { SlotPool, Slot } from './slots.js';
import type { Target } from './targets.js';

/**
 * The calls a run offers, one sequence shared by both systems (issue 10: the anchor has
 * to face what the procedures face). Offer i is drawn once, the first time a system
 * reaches it (the procedures always run a slice first), from a seeded generator, and
 * replayed as it is to the other system: the same operation, target, customer, the
 * same decision to take a free slot (probability freeShare) and the same random
 * numbers for picking it, and the same fallback slot of the grid (working hours, taken
 * or not). The free slots themselves come from each system's own pool (the slots
 * available_slots listed at the start, drained by its bookings and refilled by its
 * cancels and reschedules, as before), picked with the offer's numbers. Together with
 * the measure loop's slices (each system runs exactly the offers the procedures ran in
 * that slice), both systems make the same calls from the same starting data, so their
 * shares of successful bookings are comparable whatever their speed. Before, each
 * system drew for as long as its phase lasted: the faster one emptied its pool sooner
 * and then mostly drew taken grid slots, so its success share fell with its speed.
 */
export interface Offer {
  ti: number;
  op: Operation;
  customer: string;
  /** Take the slot (to book or move to) from the system's pool of free slots first. */
  free: boolean;
  /** Seeds the pick from that pool (see SlotPool.take). */
  poolSeed: number;
  /** The random slot of the grid used otherwise, or when the pool has none left (undefined: none ahead in the window). */
  grid?: Slot;
  /** A random number in [0, 1): a day for availability, one of the system's own bookings for cancel/reschedule. */
  pick: number;
}

export const AHEAD_MS = 60_000;

/** mulberry32: small, fast, good enough for picking inputs; seeded so a run can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gridSlot(t: Target, minStart: number, random: () => number): Slot | undefined {
  let lo = 0;
  let hi = t.grid.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.grid[mid].startMs <= minStart) lo = mid + 1;
    else hi = mid;
  }
  return lo < t.grid.length ? t.grid[lo + Math.floor(random() * (t.grid.length - lo))] : undefined;
}

export class OfferStream {
  private readonly offers: Offer[] = [];
  private readonly random: () => number;

  constructor(private readonly targets: Target[], private readonly o: Pick<BenchOptions, 'mix' | 'freeShare'>,
    readonly seed: number, private readonly now: () => number = Date.now) {
    this.random = seededRandom(seed);
  }

  /** How many offers have been drawn. */
  get drawn(): number {
    return this.offers.length;
  }

  /** Offer i (drawing every offer up to it first). */
  at(i: number): Offer {
    while (this.offers.length <= i) this.offers.push(this.draw());
    return this.offers[i];
  }

  private draw(): Offer {
    const r = this.random;
    const ti = Math.floor(r() * this.targets.length);
    const t = this.targets[ti];
    const op = pickOperation(this.o.mix, r());
    const customer = t.customers[Math.floor(r() * t.customers.length)];
    const pick = r();
    const free = r() < this.o.freeShare;
    const poolSeed = Math.floor(r() * 2 ** 32);
    const grid = op === 'availability' ? undefined : gridSlot(t, this.now() + AHEAD_MS, r);
    return { ti, op, customer, free, poolSeed, grid, pick };
  }
}

/** The slot an offer books (or moves to) in a system whose free slots are `pool`. */
export function offeredSlot(offer: Offer, pool: SlotPool, now: number = Date.now()): Slot | undefined {
  return (offer.free ? pool.take(now + AHEAD_MS, seededRandom(offer.poolSeed)) : undefined) ?? offer.grid;
}
