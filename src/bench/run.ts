import { performance } from 'node:perf_hooks';
import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import type { ConnectionTarget } from '../db/url.js';
import { startRun } from '../runs/ledger.js';
import { dropAnchor, installAnchor, type Anchor } from './anchor.js';
import { createBenchLogin, dropBenchLogin, openWorkerPool } from './login.js';
import { OPERATIONS, type BenchOptions } from './options.js';
import { findOverlaps, type OverlapScope } from './overlaps.js';
import { systemReport, throughputRatio, type BenchReport } from './report.js';
import type { Slot } from './slots.js';
import { errorTotal, newSystemStats, type SystemStats } from './stats.js';
import { anchorCalls, newSystem, procedureCalls, type System } from './systems.js';
import { loadTargets, windowOf, type Target } from './targets.js';
import { OfferStream } from './offers.js';
import { runPhase } from './workload.js';

/**
 * One `bookingdb bench` run against a deployed database. `admin` (superuser or
 * BYPASSRLS + CREATEROLE) reads the catalogue, makes and drops the temporary app login
 * and the anchor schema, and runs the overlap proof; the workers connect as the app
 * login (or `appTarget`). Everything made for the run is dropped in a finally, also on
 * an error or an abort (SIGINT: the CLI aborts `signal`, the phase ends after the calls
 * in flight). The run is one ops.runs row (command 'bench'). Never prints: progress goes
 * to `onProgress`.
 */
export interface BenchRunInput {
  options: BenchOptions;
  /** The admin target: the workers use its host, port and database with their own login. */
  target: ConnectionTarget;
  rolePrefix: string;
  connectTimeoutSeconds: number;
  /** Workers connect with this (a member of <prefix>_app) instead of a temporary login. */
  appTarget?: ConnectionTarget;
  /** availability reads go here (a replica); as the workers' login unless replicaOwnLogin. */
  replicaTarget?: ConnectionTarget;
  /** The replica URL named its own user: connect as that user, not as the workers' login. */
  replicaOwnLogin?: boolean;
  signal?: AbortSignal;
  onProgress?: (system: string, phase: string, elapsedMs: number, stats: SystemStats) => void;
  /** Seeds demo data first (the CLI passes the seed core, so this module needs no seed code). */
  seed?: (admin: Sql) => Promise<void>;
}

const PHASE_TARGET_MS = 5_000;

async function checkAdmin(admin: Sql): Promise<void> {
  const [row] = await admin`
    select pg_catalog.to_regclass('booking.tenants') is not null as deployed,
           r.rolsuper or r.rolbypassrls as sees_all, r.rolsuper or r.rolcreaterole as creates_roles
      from pg_catalog.pg_roles r where r.rolname = current_user`;
  if (!row?.deployed) {
    throw new BookingDbError('not_deployed', 'the database has no bookingdb schema yet (booking.tenants is missing)', { hint: 'run `bookingdb deploy` first', exitCode: ExitCode.precondition });
  }
  if (!row.sees_all || !row.creates_roles) {
    throw new BookingDbError('bench_needs_admin', 'bench needs an admin connection that sees every tenant and can create roles (superuser, or BYPASSRLS and CREATEROLE)', {
      hint: 'run it with the deploy (superuser) connection: --database-url postgres://<superuser>@host/db', exitCode: ExitCode.precondition,
    });
  }
}

/** The free slots per target at the start, from the real available_slots, one call per local day. */
async function freeSlots(procedures: System, targets: Target[]): Promise<Slot[][]> {
  const out: Slot[][] = [];
  for (const t of targets) {
    const slots: Slot[] = [];
    for (const d of t.days) slots.push(...await procedures.calls.availability(t, new Date(d.from), new Date(d.to)));
    out.push(slots);
  }
  return out;
}

export async function runBench(admin: Sql, input: BenchRunInput): Promise<BenchReport> {
  const o = input.options;
  await checkAdmin(admin);
  if (input.seed) await input.seed(admin);
  const targets = await loadTargets(admin, o.hotSpot ? 1 : o.tenants, o.days);
  const window = windowOf(targets);
  const scope: OverlapScope = { tenants: targets.map((t) => t.tenantId), resources: targets.flatMap((t) => t.resources), ...window };

  const run = await startRun(admin, 'bench', null, { clients: o.clients, durationMs: o.durationMs, anchor: o.anchor, hotSpot: o.hotSpot });
  const cleanups: Array<() => Promise<void>> = [];
  const problems: string[] = [];
  let anchor: Anchor | undefined;
  let anchorDropped = false;
  try {
    const { workerTarget, pool, reads } = await openWorkers(admin, input, cleanups);
    if (o.anchor) {
      anchor = await installAnchor(admin, workerTarget.user, { ...scope, what: o.anchorCopy });
      const schema = anchor.schema;
      cleanups.push(async () => { await dropAnchor(admin, schema); anchorDropped = true; });
    }
    const procedures = newSystem('procedures', procedureCalls(pool, reads, o.tx, !o.noPrepare), targets.map(() => []), 'booking.booking_allocations');
    const free = await freeSlots(procedures, targets);
    const systems: System[] = [newSystem('procedures', procedures.calls, free, procedures.allocations)];
    if (anchor) systems.push(newSystem('anchor', anchorCalls(pool, reads, anchor.schema, o.tx, !o.noPrepare), free, `"${anchor.schema}".allocations`));
    const stream = new OfferStream(targets, o, Math.floor(Math.random() * 2 ** 32));

    const { reports, stats, phases } = await measure(systems, targets, o, stream, input);
    const overlaps = [];
    for (const s of systems) {
      const found = await findOverlaps(admin, s.allocations, scope);
      overlaps.push({ table: s.allocations.replaceAll('"', ''), checked: found.checked, found: found.overlaps.length, examples: found.overlaps.slice(0, 5) });
      if (found.overlaps.length > 0) problems.push(`${found.overlaps.length} overlapping active allocations in ${s.allocations.replaceAll('"', '')}`);
    }
    const cleanup = await cancelMade(systems[0], targets, o.clients);
    const p95Targets = judge(o, systems, stats, reports, problems);
    if (input.signal?.aborted) problems.push('interrupted before the end of the run');
    const report: BenchReport = {
      ok: problems.length === 0,
      interrupted: Boolean(input.signal?.aborted),
      settings: {
        clients: o.clients, durationMs: o.durationMs, warmupMs: o.warmupMs, mix: { ...o.mix }, hotSpot: o.hotSpot,
        prepare: !o.noPrepare, tx: o.tx, anchor: o.anchor, replica: Boolean(input.replicaTarget), login: input.appTarget ? 'given' : 'temporary',
        days: o.days, freeSharePercent: Math.round(o.freeShare * 100), phases, offerSeed: stream.seed, offers: stream.drawn,
      },
      targets: targets.map((t, i) => ({ tenant: t.slug, service: t.serviceName, resources: t.resources.length, customers: t.customers.length, gridSlots: t.grid.length, freeAtStart: free[i].length })),
      systems: reports,
      ...(reports.anchor ? { ratio: throughputRatio(reports.procedures, reports.anchor) } : {}),
      overlaps,
      cleanup,
      p95Targets,
      problems,
    };
    await runCleanups(cleanups);
    if (anchor) report.anchor = { schema: anchor.schema, copy: o.anchorCopy, copiedAllocations: anchor.copied, dropped: anchorDropped };
    await run.finish(report.ok ? 'ok' : 'failed', { ok: report.ok, problems, ratio: report.ratio ?? null, callsPerSecond: reports.procedures.callsPerSecond });
    return report;
  } catch (error) {
    await runCleanups(cleanups).catch(() => undefined);
    await run.finish('failed', { error: error instanceof Error ? error.message.slice(0, 2000) : String(error) }).catch(() => undefined);
    throw error;
  }
}

/**
 * The worker pools: the temporary login (or --app-url's) and, with --replica-url, a pool
 * there for availability reads. Each is registered in `cleanups` as soon as it exists.
 */
async function openWorkers(admin: Sql, input: BenchRunInput, cleanups: Array<() => Promise<void>>) {
  const o = input.options;
  let workerTarget = input.appTarget;
  if (!workerTarget) {
    const login = await createBenchLogin(admin, input.rolePrefix, input.target);
    cleanups.push(() => dropBenchLogin(admin, login.name));
    workerTarget = login.target;
  }
  const pool = await openWorkerPool(workerTarget, o.clients, !o.noPrepare, input.connectTimeoutSeconds);
  cleanups.push(() => pool.end({ timeout: 5 }));
  let reads = pool;
  if (input.replicaTarget) {
    const r = input.replicaTarget;
    const replica = input.replicaOwnLogin ? r : { ...r, user: workerTarget.user, password: workerTarget.password };
    reads = await openWorkerPool(replica, o.clients, !o.noPrepare, input.connectTimeoutSeconds);
    cleanups.push(() => reads.end({ timeout: 5 }));
  }
  return { workerTarget, pool, reads };
}

type Spent = { wallMs: number; cpuMs: number };

/**
 * Warm-up (unmeasured) on each system, then the measured time in alternating phases of
 * about 5 s (procedures, anchor, procedures, ...; one phase without --anchor), with a
 * progress callback each second. The procedures' phases are timed; the anchor's phase
 * after each runs exactly the same slice of the offer stream (the same calls, whatever
 * its speed), so both systems make the same calls from the same starting data and the
 * throughput of each is its calls over its own wall time.
 */
async function measure(systems: System[], targets: Target[], o: BenchOptions, stream: OfferStream, input: BenchRunInput) {
  const stats = new Map(systems.map((s) => [s.name, newSystemStats()]));
  const spent = new Map<string, Spent>(systems.map((s) => [s.name, { wallMs: 0, cpuMs: 0 }]));
  const phases = o.anchor ? Math.max(1, Math.round(o.durationMs / PHASE_TARGET_MS)) : 1;
  const aborted = () => Boolean(input.signal?.aborted);
  let from = 0;
  let until = 0;
  if (o.warmupMs > 0) {
    for (const sys of systems) {
      if (aborted()) break;
      const span = sys === systems[0] ? { from, ms: o.warmupMs } : { from, until };
      ({ until } = await runPhase(sys, targets, o, stream, span, undefined, input.signal));
    }
    from = until;
  }
  for (let i = 0; i < phases && !aborted(); i++) {
    for (const sys of systems) {
      if (aborted()) break;
      const span = sys === systems[0] ? { from, ms: o.durationMs / phases } : { from, until };
      const used = spent.get(sys.name) as Spent;
      const base = used.wallMs;
      const started = performance.now();
      const timer = setInterval(() => input.onProgress?.(sys.name, `phase ${i + 1}/${phases}`, base + performance.now() - started, stats.get(sys.name) as SystemStats), 1000);
      try {
        const r = await runPhase(sys, targets, o, stream, span, stats.get(sys.name), input.signal);
        until = r.until;
        used.wallMs += r.wallMs;
        used.cpuMs += r.cpuMs;
      } finally {
        clearInterval(timer);
      }
    }
    from = until;
  }
  const reports = Object.fromEntries(systems.map((s) => {
    const u = spent.get(s.name) as Spent;
    return [s.name, systemReport(stats.get(s.name) as SystemStats, u.wallMs, u.cpuMs)];
  })) as BenchReport['systems'];
  return { reports, stats, phases };
}

/** Adds to `problems` the non-conflict errors and missed p95 targets (procedures only); returns the target lines. */
function judge(o: BenchOptions, systems: System[], stats: Map<string, SystemStats>, reports: BenchReport['systems'], problems: string[]) {
  for (const s of systems) {
    const n = errorTotal(stats.get(s.name) as SystemStats);
    if (n > 0) problems.push(`${n} calls failed with errors other than 23P01 on the ${s.name}`);
  }
  return OPERATIONS.filter((op) => o.targets[op] !== undefined && reports.procedures.operations[op].calls > 0).map((op) => {
    const p95Ms = reports.procedures.operations[op].p95Ms;
    const targetMs = o.targets[op] as number;
    if (p95Ms > targetMs) problems.push(`${op} p95 ${p95Ms} ms is over the target of ${targetMs} ms`);
    return { operation: op, targetMs, p95Ms, ok: p95Ms <= targetMs };
  });
}

/**
 * Cancels, through booking.cancel as the app would, the bookings this run made in the
 * procedures (unmeasured, `clients` at a time), so the next run finds the same free
 * slots (a hot spot would otherwise be full after one run). The anchor's are dropped
 * with its schema. A run that dies midway leaves its bookings confirmed.
 */
async function cancelMade(sys: System, targets: Target[], clients: number): Promise<{ cancelled: number; failed: number }> {
  const queue = sys.made.flatMap((made, ti) => made.map((b) => ({ ti, id: b.id })));
  const result = { cancelled: 0, failed: 0 };
  const worker = async () => {
    for (let job = queue.pop(); job; job = queue.pop()) {
      try {
        await sys.calls.cancel(targets[job.ti], job.id);
        result.cancelled += 1;
      } catch {
        result.failed += 1; // e.g. it started meanwhile (BK004): left as it is
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return result;
}

/** Runs every cleanup, newest first (pools before the login they use), each even if another failed. */
async function runCleanups(cleanups: Array<() => Promise<void>>): Promise<void> {
  let first: unknown;
  while (cleanups.length > 0) {
    const c = cleanups.pop() as () => Promise<void>;
    try {
      await c();
    } catch (error) {
      first ??= error;
    }
  }
  if (first) throw first;
}
