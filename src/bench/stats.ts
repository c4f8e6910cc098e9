import { build, type Histogram } from 'hdr-histogram-js';
import { OPERATIONS, type Operation } from './options.js';

/**
 * Latency and outcome of every call of one operation in one system (the procedures or
 * the anchor): an HDR histogram in microseconds (3 significant digits, up to an hour),
 * the calls, and failures by SQLSTATE, with 23P01 (slot taken) counted apart: a
 * conflict is the API doing its job, anything else is an error.
 */
export interface OperationStats {
  calls: number;
  ok: number;
  conflicts: number;
  errors: Record<string, number>;
  histogram: Histogram;
}

export type SystemStats = Record<Operation, OperationStats>;

export function newSystemStats(): SystemStats {
  return Object.fromEntries(OPERATIONS.map((op) => [op, {
    calls: 0, ok: 0, conflicts: 0, errors: {},
    histogram: build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 }),
  }])) as unknown as SystemStats;
}

/** The SQLSTATE of a failed call, else the client's error code (e.g. CONNECTION_CLOSED). */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code ? code : 'client_error';
}

/** Records one call: its latency and how it ended (undefined: ok). */
export function recordCall(s: OperationStats, micros: number, error?: unknown): void {
  s.calls += 1;
  s.histogram.recordValue(Math.max(1, Math.round(micros)));
  if (error === undefined) s.ok += 1;
  else {
    const code = errorCode(error);
    if (code === '23P01') s.conflicts += 1;
    else s.errors[code] = (s.errors[code] ?? 0) + 1;
  }
}

/** One operation's line of the report (latencies in ms, 3 decimals). */
export interface OperationSummary {
  calls: number;
  ok: number;
  conflicts: number;
  errors: Record<string, number>;
  /** Calls the histogram holds: always equal to calls. */
  recorded: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

const ms = (us: number) => Math.round(us) / 1000;

export function summarise(s: OperationStats, seconds: number): OperationSummary {
  const h = s.histogram;
  const empty = h.totalCount === 0;
  return {
    calls: s.calls,
    ok: s.ok,
    conflicts: s.conflicts,
    errors: { ...s.errors },
    recorded: h.totalCount,
    perSecond: seconds > 0 ? Math.round((s.calls / seconds) * 10) / 10 : 0,
    p50Ms: empty ? 0 : ms(h.getValueAtPercentile(50)),
    p95Ms: empty ? 0 : ms(h.getValueAtPercentile(95)),
    p99Ms: empty ? 0 : ms(h.getValueAtPercentile(99)),
    maxMs: empty ? 0 : ms(h.maxValue),
  };
}

/** Non-conflict errors of a system, summed. */
export function errorTotal(s: SystemStats): number {
  return OPERATIONS.reduce((n, op) => n + Object.values(s[op].errors).reduce((a, b) => a + b, 0), 0);
}
