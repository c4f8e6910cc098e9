import { z } from 'zod';
import { ANCHOR_COPIES, OPERATIONS, type AnchorCopy, type Operation } from './options.js';
import { summarise, type OperationSummary, type SystemStats } from './stats.js';

/**
 * The result of a bench run: what `--json` prints (validated by benchReportSchema in
 * the tests) and what the text renderer shows.
 */
const operationSchema = z.strictObject({
  calls: z.number().int().min(0),
  ok: z.number().int().min(0),
  conflicts: z.number().int().min(0),
  errors: z.record(z.string(), z.number().int().min(1)),
  recorded: z.number().int().min(0),
  perSecond: z.number().min(0),
  p50Ms: z.number().min(0),
  p95Ms: z.number().min(0),
  p99Ms: z.number().min(0),
  maxMs: z.number().min(0),
});

const systemSchema = z.strictObject({
  seconds: z.number().min(0),
  callsPerSecond: z.number().min(0),
  cpuPercent: z.number().min(0),
  operations: z.strictObject(Object.fromEntries(OPERATIONS.map((op) => [op, operationSchema])) as Record<Operation, typeof operationSchema>),
});

const overlapSchema = z.strictObject({
  table: z.string(),
  checked: z.number().int().min(0),
  found: z.number().int().min(0),
  examples: z.array(z.strictObject({ tenantId: z.string(), resourceId: z.string(), a: z.string(), b: z.string(), aBlocked: z.string(), bBlocked: z.string() })),
});

export const benchReportSchema = z.strictObject({
  ok: z.boolean(),
  interrupted: z.boolean(),
  settings: z.strictObject({
    clients: z.number().int(),
    durationMs: z.number().int(),
    warmupMs: z.number().int(),
    mix: z.record(z.string(), z.number()),
    hotSpot: z.boolean(),
    prepare: z.boolean(),
    /** How each call was sent (--tx): one statement, or BEGIN, set_config + call, COMMIT. */
    tx: z.enum(['statement', 'explicit']),
    anchor: z.boolean(),
    replica: z.boolean(),
    login: z.enum(['temporary', 'given']),
    days: z.number().int(),
    freeSharePercent: z.number(),
    phases: z.number().int(),
    /** The seed of the offer stream both systems replay, and how many offers it drew. */
    offerSeed: z.number().int(),
    offers: z.number().int(),
  }),
  targets: z.array(z.strictObject({ tenant: z.string(), service: z.string(), resources: z.number().int(), customers: z.number().int(), gridSlots: z.number().int(), freeAtStart: z.number().int() })),
  systems: z.strictObject({ procedures: systemSchema, anchor: systemSchema.optional() }),
  ratio: z.record(z.string(), z.number()).optional(),
  anchor: z.strictObject({ schema: z.string(), copy: z.enum(ANCHOR_COPIES), copiedAllocations: z.number().int(), dropped: z.boolean() }).optional(),
  overlaps: z.array(overlapSchema),
  cleanup: z.strictObject({ cancelled: z.number().int().min(0), failed: z.number().int().min(0) }),
  p95Targets: z.array(z.strictObject({ operation: z.string(), targetMs: z.number(), p95Ms: z.number(), ok: z.boolean() })),
  problems: z.array(z.string()),
});

export type BenchReport = z.infer<typeof benchReportSchema>;
export type SystemReport = z.infer<typeof systemSchema>;

export function systemReport(stats: SystemStats, wallMs: number, cpuMs: number): SystemReport {
  const seconds = wallMs / 1000;
  const operations = Object.fromEntries(OPERATIONS.map((op) => [op, summarise(stats[op], seconds)])) as Record<Operation, OperationSummary>;
  const calls = OPERATIONS.reduce((n, op) => n + stats[op].calls, 0);
  return {
    seconds: Math.round(seconds * 100) / 100,
    callsPerSecond: seconds > 0 ? Math.round((calls / seconds) * 10) / 10 : 0,
    cpuPercent: wallMs > 0 ? Math.round((cpuMs / wallMs) * 1000) / 10 : 0,
    operations,
  };
}

/** Procedures' throughput over the anchor's, per operation that ran in both and overall. */
export function throughputRatio(p: SystemReport, a: SystemReport): Record<string, number> {
  const r = (x: number, y: number) => Math.round((x / y) * 100) / 100;
  const out: Record<string, number> = {};
  if (a.callsPerSecond > 0) out.overall = r(p.callsPerSecond, a.callsPerSecond);
  for (const op of OPERATIONS) {
    if (p.operations[op].calls > 0 && a.operations[op].perSecond > 0) out[op] = r(p.operations[op].perSecond, a.operations[op].perSecond);
  }
  return out;
}

const fmtErrors = (s: OperationSummary) => Object.entries(s.errors).map(([c, n]) => `${c}:${n}`).join(' ') || '0';

/** The text report: a table per system, the ratio, the proof, the verdict. */
/** What the anchor's copy holds, as the text report says it. */
const ANCHOR_COPY_TEXT: Record<AnchorCopy, string> = {
  history: 'the benched resources\' whole active history',
  window: 'only the window widened by a day (favours the anchor)',
  all: 'every active allocation of the database (a table as big as the procedures\')',
};

export async function renderBenchReport(report: BenchReport, table: (head: string[], rows: (string | number)[][]) => Promise<string>): Promise<string> {
  const parts: string[] = [report.settings.tx === 'statement'
    ? 'each call one statement (its own transaction, tenant set in a subquery); --tx explicit for BEGIN ... COMMIT'
    : 'each call BEGIN, set_config + call, COMMIT (--tx explicit)'];
  for (const [name, sys] of Object.entries(report.systems)) {
    if (!sys) continue;
    const rows = OPERATIONS.filter((op) => sys.operations[op].calls > 0).map((op) => {
      const s = sys.operations[op];
      return [op, s.calls, s.perSecond, `${s.ok} (${Math.round((s.ok / s.calls) * 100)} %)`, s.p50Ms, s.p95Ms, s.p99Ms, s.maxMs, s.conflicts, fmtErrors(s)];
    });
    parts.push(`${name}: ${sys.callsPerSecond} calls/s over ${sys.seconds} s, bench process CPU ${sys.cpuPercent} % of one core`);
    parts.push(await table(['operation', 'calls', 'per s', 'ok', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', '23P01', 'errors'], rows));
  }
  if (report.ratio) {
    parts.push(`throughput, procedures / anchor: ${Object.entries(report.ratio).map(([k, v]) => `${k} ${v}x`).join(', ')}`
      + ` (${report.settings.phases} alternating phases each, same clients; both ran the same ${report.settings.offers} offered calls, warm-up included, on the same starting data`
      + `${report.anchor ? `: the anchor's copy holds ${report.anchor.copiedAllocations} allocations, ${ANCHOR_COPY_TEXT[report.anchor.copy]}` : ''})`);
  }
  for (const o of report.overlaps) parts.push(`overlap proof on ${o.table}: ${o.checked} active allocations checked, ${o.found} overlapping pairs`);
  parts.push(`cleanup: cancelled the ${report.cleanup.cancelled} bookings this run made${report.cleanup.failed ? ` (${report.cleanup.failed} could not be cancelled)` : ''}`);
  for (const t of report.p95Targets) parts.push(`p95 target ${t.operation}: ${t.p95Ms} ms (target ${t.targetMs} ms) ${t.ok ? 'met' : 'MISSED'}`);
  parts.push(report.ok ? 'ok' : `failed: ${report.problems.join('; ')}`);
  return parts.join('\n');
}

/** One progress line (stderr, TTY only): system, phase, elapsed, per-operation rate and p95. */
export function progressLine(system: string, phase: string, elapsedMs: number, stats: SystemStats): string {
  const seconds = elapsedMs / 1000;
  const ops = OPERATIONS.filter((op) => stats[op].calls > 0).map((op) => {
    const s = summarise(stats[op], seconds);
    return `${op} ${s.perSecond}/s p95 ${s.p95Ms}ms`;
  });
  const conflicts = OPERATIONS.reduce((n, op) => n + stats[op].conflicts, 0);
  const errors = OPERATIONS.reduce((n, op) => n + Object.values(stats[op].errors).reduce((a, b) => a + b, 0), 0);
  return `${system} ${phase} ${seconds.toFixed(0)}s: ${ops.join(', ') || 'starting'}; 23P01 ${conflicts}, errors ${errors}`;
}
