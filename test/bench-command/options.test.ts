import { describe, expect, it } from 'vitest';
import { DEFAULT_TARGETS, parseBenchOptions, parseMix, parseTargets, pickOperation } from '../../src/bench/options.js';
import { SlotPool } from '../../src/bench/slots.js';
import { BookingDbError } from '../../src/errors.js';

// The flags of `bookingdb bench` and the slot pool the workers draw from (no database).
const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BookingDbError);
    expect((error as BookingDbError).exitCode).toBe(2);
    return (error as BookingDbError).message;
  }
  throw new Error('expected a usage error');
};

describe('bench options', () => {
  it('parses a mix and refuses unknown operations, bad weights and an all-zero mix', () => {
    expect(parseMix('availability=70,book=20,cancel=5,reschedule=5')).toEqual({ availability: 70, book: 20, cancel: 5, reschedule: 5 });
    expect(parseMix('book=1')).toEqual({ availability: 0, book: 1, cancel: 0, reschedule: 0 });
    expect(usage(() => parseMix('availability=70,bok=20'))).toBe('unknown operation "bok" in --mix');
    expect(usage(() => parseMix('book=-1'))).toBe('invalid --mix entry "book=-1"');
    expect(usage(() => parseMix('book=0'))).toBe('--mix gives every operation weight 0');
  });

  it('parses p95 targets in ms and s over the defaults (availability 5 ms, book 20 ms)', () => {
    expect(DEFAULT_TARGETS).toEqual({ availability: 5, book: 20 });
    expect(parseTargets('availability=2.5ms,book=1s')).toEqual({ availability: 2.5, book: 1000 });
    expect(parseBenchOptions({ targetP95: 'cancel=30ms' }).targets).toEqual({ availability: 5, book: 20, cancel: 30 });
    expect(usage(() => parseTargets('book=20'))).toBe('invalid --target-p95 entry "book=20"');
  });

  it('has the documented defaults; hot spot means one tenant and two days', () => {
    const o = parseBenchOptions({});
    expect(o).toMatchObject({ clients: 8, durationMs: 30_000, warmupMs: 5_000, tenants: 5, days: 28, hotSpot: false, noPrepare: false, anchor: false, freeShare: 0.5 });
    expect(parseBenchOptions({ hotSpot: true })).toMatchObject({ tenants: 1, days: 2 });
    expect(parseBenchOptions({ prepare: false, warmup: '0' })).toMatchObject({ noPrepare: true, warmupMs: 0 });
    expect(usage(() => parseBenchOptions({ clients: '0' }))).toContain('--clients must be a whole number from 1 to 1000');
    expect(usage(() => parseBenchOptions({ duration: '30' }))).toContain('--duration must be a duration');
    expect(usage(() => parseBenchOptions({ seed: 'huge' }))).toBe('--seed must be small or 1m, got "huge"');
  });

  it('the anchor copies the whole history unless told --anchor-copy window or all; the flag needs --anchor', () => {
    expect(parseBenchOptions({ anchor: true }).anchorCopy).toBe('history');
    expect(parseBenchOptions({ anchor: true, anchorCopy: 'window' }).anchorCopy).toBe('window');
    expect(parseBenchOptions({ anchor: true, anchorCopy: 'all' }).anchorCopy).toBe('all');
    expect(usage(() => parseBenchOptions({ anchor: true, anchorCopy: 'everything' }))).toBe('--anchor-copy must be history, window or all, got "everything"');
    expect(usage(() => parseBenchOptions({ anchorCopy: 'window' }))).toBe('--anchor-copy needs --anchor');
    expect(parseBenchOptions({}).tx).toBe('statement');
    expect(parseBenchOptions({ tx: 'explicit' }).tx).toBe('explicit');
    expect(usage(() => parseBenchOptions({ tx: 'pipelined' }))).toBe('--tx must be statement or explicit, got "pipelined"');
  });

  it('picks operations by weight', () => {
    const mix = { availability: 1, book: 1, cancel: 0, reschedule: 2 };
    expect(pickOperation(mix, 0)).toBe('availability');
    expect(pickOperation(mix, 0.3)).toBe('book');
    expect(pickOperation(mix, 0.5)).toBe('reschedule');
    expect(pickOperation(mix, 0.9999)).toBe('reschedule');
  });

  it('the slot pool takes each slot once, skips slots in the past, and takes back freed ones', () => {
    const pool = new SlotPool([{ resourceId: 'r', startMs: 10 }, { resourceId: 'r', startMs: 20 }, { resourceId: 'r', startMs: 30 }]);
    pool.add({ resourceId: 'r', startMs: 30 }); // already there
    expect(pool.size).toBe(3);
    const taken = [pool.take(15), pool.take(15)].map((s) => s?.startMs).sort();
    expect(taken).toEqual([20, 30]);
    expect(pool.take(15)).toBeUndefined(); // only the past one was left, and it is dropped
    expect(pool.size).toBe(0);
    pool.add({ resourceId: 'r', startMs: 40 });
    pool.remove({ resourceId: 'r', startMs: 40 });
    expect(pool.take(0)).toBeUndefined();
  });
});
