import { describe, expect, it } from 'vitest';
import { OfferStream, offeredSlot, seededRandom } from '../../src/bench/offers.js';
import { SlotPool } from '../../src/bench/slots.js';
import type { Target } from '../../src/bench/targets.js';

// The offer stream both systems of `bench --anchor` replay (no database): the same
// seed gives the same calls, read in any order; two systems with the same free slots
// are offered the same slots; nothing offered starts within a minute.
const now = 1_000_000_000_000;
const grid = Array.from({ length: 400 }, (_, i) => ({ resourceId: `r${i % 4}`, startMs: now + i * 60_000 }));
const target = (n: number): Target => ({
  tenantId: `t${n}`, slug: `t${n}`, timezone: 'UTC', serviceId: `s${n}`, serviceName: 'cut', resources: ['r0', 'r1', 'r2', 'r3'],
  customers: ['c1', 'c2', 'c3'], days: [{ from: now, to: now + 86_400_000 }], grid,
});
const targets = [target(0), target(1)];
const mix = { availability: 10, book: 70, cancel: 10, reschedule: 10 };
const bookOnly = { availability: 0, book: 1, cancel: 0, reschedule: 0 };

describe('bench offer stream', () => {
  it('replays the same offers for the same seed, whenever and in whatever order they are read', () => {
    const a = new OfferStream(targets, { mix, freeShare: 0.5 }, 42, () => now);
    const b = new OfferStream(targets, { mix, freeShare: 0.5 }, 42, () => now);
    const late = b.at(299); // drawn in one go
    const first = Array.from({ length: 300 }, (_, i) => a.at(i));
    expect(first[299]).toEqual(late);
    expect(Array.from({ length: 300 }, (_, i) => b.at(i))).toEqual(first);
    expect(a.at(10)).toBe(first[10]); // read again: the very same offer, not a new draw
    expect(a.drawn).toBe(300);
    const other = new OfferStream(targets, { mix, freeShare: 0.5 }, 43, () => now);
    expect(Array.from({ length: 300 }, (_, i) => other.at(i))).not.toEqual(first);
    expect(new Set(first.map((o) => o.op))).toEqual(new Set(['availability', 'book', 'cancel', 'reschedule']));
    expect(first.every((o) => ['c1', 'c2', 'c3'].includes(o.customer))).toBe(true);
    expect(first.filter((o) => o.op === 'availability').every((o) => o.grid === undefined)).toBe(true);
  });

  it('two systems with the same free slots are offered the same slots; free ones at the free share, each once', () => {
    const free = grid.filter((_, i) => i % 3 === 0);
    const s = new OfferStream(targets, { mix: bookOnly, freeShare: 0.5 }, 7, () => now);
    const pools = [new SlotPool(free), new SlotPool(free)];
    const slots = pools.map((pool) => Array.from({ length: 200 }, (_, i) => offeredSlot(s.at(i), pool, now)));
    expect(slots[1]).toEqual(slots[0]);
    expect(slots[0].every((x) => x && x.startMs > now + 60_000)).toBe(true); // never within a minute
    const fromPool = slots[0].filter((x, i) => s.at(i).free && x !== s.at(i).grid);
    expect(fromPool.length).toBeGreaterThan(70); // about half of 200
    expect(fromPool.length).toBeLessThan(130);
    expect(new Set(fromPool.map((x) => `${x?.resourceId}|${x?.startMs}`)).size).toBe(fromPool.length);
    // a drained pool falls back to the offer's grid slot
    const empty = new SlotPool([]);
    expect(offeredSlot(s.at(0), empty, now)).toBe(s.at(0).grid);
  });

  it('seededRandom is deterministic and in [0, 1)', () => {
    const r1 = seededRandom(1);
    const r2 = seededRandom(1);
    const xs = Array.from({ length: 1000 }, () => r1());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => r2()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(new Set(xs).size).toBeGreaterThan(990);
  });
});

describe('takeBooking: what cancel and reschedule may pick', () => {
  it('never picks a booking starting within two minutes, and leaves it in the list, so the cleanup still cancels it', async () => {
    const { takeBooking } = await import('../../src/bench/workload.js');
    const { newSystem } = await import('../../src/bench/systems.js');
    const sys = newSystem('procedures', {} as never, [[]], 'x');
    const soon = { id: 'soon', resourceId: 'r0', startMs: Date.now() + 90_000 };
    const later = { id: 'later', resourceId: 'r0', startMs: Date.now() + 3_600_000 };
    sys.made[0].push(soon);
    // every pick lands on the one booking, which is too soon: nothing is taken, nothing is lost
    for (const pick of [0, 0.25, 0.5, 0.99]) expect(takeBooking(sys, 0, pick)).toBeUndefined();
    expect(sys.made[0]).toEqual([soon]);
    sys.made[0].push(later);
    const taken = [0, 0.3, 0.6, 0.9].map((p) => takeBooking(sys, 0, p)).filter(Boolean);
    expect(taken).toEqual([later]);
    expect(sys.made[0]).toEqual([soon]);
  });
});
