import { usageError } from '../errors.js';
import { parseDurationMs } from '../config/ranges.js';
import { parseInteger } from '../validate.js';

/**
 * The options of one `bookingdb bench` run, parsed strictly from the flags before
 * anything connects (exit 2 naming the flag). Pure: unit-tested without a database.
 */
export const OPERATIONS = ['availability', 'book', 'cancel', 'reschedule'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type Mix = Record<Operation, number>;

export interface BenchOptions {
  clients: number;
  durationMs: number;
  warmupMs: number;
  mix: Mix;
  tenants: number;
  hotSpot: boolean;
  seed?: 'small' | '1m';
  noPrepare: boolean;
  anchor: boolean;
  /** What the anchor's allocation copy holds: the benched resources' whole active history (the same data the procedures read), only the window widened by a day, or every active allocation (a table as big as the procedures'). */
  anchorCopy: AnchorCopy;
  /** How each call is sent: one statement (its own transaction), or BEGIN, set_config + call, COMMIT. */
  tx: TxMode;
  /** p95 targets per operation in ms; an operation without one is not checked. */
  targets: Partial<Record<Operation, number>>;
  /** Days of the booking window (today and the coming weeks; 2 with hotSpot). */
  days: number;
  /** Share of `book` (and reschedule) calls that take a slot available_slots offered at the start. */
  freeShare: number;
}

export const ANCHOR_COPIES = ['history', 'window', 'all'] as const;
export type AnchorCopy = (typeof ANCHOR_COPIES)[number];
const isAnchorCopy = (v: string): v is AnchorCopy => (ANCHOR_COPIES as readonly string[]).includes(v);
export type TxMode = 'statement' | 'explicit';

export const DEFAULT_MIX: Mix = { availability: 70, book: 20, cancel: 5, reschedule: 5 };
/** The seed guides' targets (availability 50 ms, booking 200 ms) divided by ten. */
export const DEFAULT_TARGETS: Partial<Record<Operation, number>> = { availability: 5, book: 20 };

export interface BenchFlags {
  clients?: string;
  duration?: string;
  warmup?: string;
  mix?: string;
  tenants?: string;
  hotSpot?: boolean;
  seed?: string;
  prepare?: boolean;
  anchor?: boolean;
  anchorCopy?: string;
  tx?: string;
  targetP95?: string;
  days?: string;
  freeShare?: string;
}

function duration(flag: string, text: string, minMs: number): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < minMs || ms > 3_600_000) {
    throw usageError(`${flag} must be a duration from ${minMs} ms to 1h such as "30s", "500ms" or "2min", got "${text}"`, 'e.g. --duration 30s --warmup 5s');
  }
  return ms;
}

/** `availability=70,book=20,...`: known operations, whole weights, at least one above zero. */
export function parseMix(text: string): Mix {
  const mix: Mix = { availability: 0, book: 0, cancel: 0, reschedule: 0 };
  const hint = `use operation=weight pairs from ${OPERATIONS.join(', ')}, e.g. --mix availability=70,book=20,cancel=5,reschedule=5`;
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,6})\s*$/.exec(part);
    if (!m) throw usageError(`invalid --mix entry "${part.trim()}"`, hint);
    if (!(OPERATIONS as readonly string[]).includes(m[1])) throw usageError(`unknown operation "${m[1]}" in --mix`, hint);
    mix[m[1] as Operation] = Number(m[2]);
  }
  if (OPERATIONS.every((op) => mix[op] === 0)) throw usageError('--mix gives every operation weight 0', hint);
  return mix;
}

/** `availability=5ms,book=20ms` (ms or s, decimals allowed). */
export function parseTargets(text: string): Partial<Record<Operation, number>> {
  const out: Partial<Record<Operation, number>> = {};
  const hint = 'use operation=latency pairs, e.g. --target-p95 availability=5ms,book=20ms';
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,6}(?:\.\d{1,3})?)\s*(ms|s)\s*$/.exec(part);
    if (!m) throw usageError(`invalid --target-p95 entry "${part.trim()}"`, hint);
    if (!(OPERATIONS as readonly string[]).includes(m[1])) throw usageError(`unknown operation "${m[1]}" in --target-p95`, hint);
    const ms = Number(m[2]) * (m[3] === 's' ? 1000 : 1);
    if (ms <= 0) throw usageError(`--target-p95 for ${m[1]} must be above 0`, hint);
    out[m[1] as Operation] = ms;
  }
  return out;
}

/** All flags of `bench` into BenchOptions; exit 2 on the first bad one. */
export function parseBenchOptions(f: BenchFlags): BenchOptions {
  const hotSpot = Boolean(f.hotSpot);
  const seed = f.seed;
  if (seed !== undefined && seed !== 'small' && seed !== '1m') throw usageError(`--seed must be small or 1m, got "${seed}"`, 'e.g. --seed small');
  const anchorCopy = f.anchorCopy ?? 'history';
  if (!isAnchorCopy(anchorCopy)) throw usageError(`--anchor-copy must be history, window or all, got "${anchorCopy}"`, 'e.g. --anchor --anchor-copy all');
  if (f.anchorCopy !== undefined && !f.anchor) throw usageError('--anchor-copy needs --anchor', 'e.g. --anchor --anchor-copy window');
  const tx = f.tx ?? 'statement';
  if (tx !== 'statement' && tx !== 'explicit') throw usageError(`--tx must be statement or explicit, got "${tx}"`, 'e.g. --tx explicit');
  let freeShare = 0.5;
  if (f.freeShare !== undefined) {
    freeShare = parseInteger('--free-share', f.freeShare, { min: 0, max: 100, unit: 'percent' }) / 100;
  }
  return {
    clients: f.clients === undefined ? 8 : parseInteger('--clients', f.clients, { min: 1, max: 1000 }),
    durationMs: f.duration === undefined ? 30_000 : duration('--duration', f.duration, 500),
    warmupMs: f.warmup === undefined ? 5_000 : f.warmup === '0' ? 0 : duration('--warmup', f.warmup, 1),
    mix: f.mix === undefined ? { ...DEFAULT_MIX } : parseMix(f.mix),
    tenants: f.tenants === undefined ? (hotSpot ? 1 : 5) : parseInteger('--tenants', f.tenants, { min: 1, max: 1000 }),
    hotSpot,
    seed,
    noPrepare: f.prepare === false,
    anchor: Boolean(f.anchor),
    anchorCopy,
    tx,
    targets: { ...DEFAULT_TARGETS, ...(f.targetP95 === undefined ? {} : parseTargets(f.targetP95)) },
    days: hotSpot ? 2 : f.days === undefined ? 28 : parseInteger('--days', f.days, { min: 1, max: 31 }),
    freeShare,
  };
}

/** Picks an operation by weight (r in [0, 1)). */
export function pickOperation(mix: Mix, r: number): Operation {
  const total = OPERATIONS.reduce((s, op) => s + mix[op], 0);
  let x = r * total;
  for (const op of OPERATIONS) {
    if (x < mix[op]) return op;
    x -= mix[op];
  }
  return OPERATIONS.filter((op) => mix[op] > 0).at(-1) as Operation;
}
