import type { VerifyVerdict } from '../backup/manifest.js';

/**
 * Runs the named steps of a verification in order, each timed: a step that returns a
 * problem (or throws) fails, and the steps after it are recorded as skipped, so the
 * verdict always lists every step with what it took.
 */
export type StepRecord = VerifyVerdict['steps'][number];

export interface StepOutcome {
  problem?: string;
  detail?: Record<string, unknown>;
}

export class StepFailed extends Error {
  constructor(readonly step: string, message: string, readonly original?: unknown) {
    super(message);
  }
}

export class StepRunner {
  readonly steps: StepRecord[] = [];
  failed?: StepFailed;

  constructor(private readonly names: readonly string[], private readonly onStep?: (s: StepRecord) => void, private readonly signal?: AbortSignal) {}

  /** Runs fn as step `name` unless an earlier step failed; throws StepFailed on failure. */
  async run(name: string, fn: () => Promise<StepOutcome | void>): Promise<void> {
    if (this.failed) return;
    const t = performance.now();
    let outcome: StepOutcome | void;
    try {
      outcome = await fn();
    } catch (error) {
      // aborted: whatever the step saw (a killed pg_restore, a closed connection) was the interruption
      const message = this.signal?.aborted ? `interrupted by ${String(this.signal.reason)}` : error instanceof Error ? error.message : String(error);
      this.record({ name, status: 'failed', durationMs: performance.now() - t, detail: { error: message } });
      throw (this.failed = new StepFailed(name, message, error));
    }
    const status = outcome?.problem ? 'failed' : 'ok';
    this.record({ name, status, durationMs: performance.now() - t, ...(outcome?.detail ? { detail: outcome.detail } : {}) });
    if (outcome?.problem) throw (this.failed = new StepFailed(name, outcome.problem));
  }

  /** A step recorded as skipped (e.g. drop with --keep). */
  skip(name: string, detail?: Record<string, unknown>): void {
    this.record({ name, status: 'skipped', durationMs: 0, ...(detail ? { detail } : {}) });
  }

  /** The steps never reached, as skipped, in their declared order. */
  finish(): StepRecord[] {
    const done = new Set(this.steps.map((s) => s.name));
    for (const name of this.names) if (!done.has(name)) this.steps.push({ name, status: 'skipped', durationMs: 0 });
    const order = new Map(this.names.map((n, i) => [n, i]));
    return this.steps.sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99));
  }

  private record(s: StepRecord): void {
    const rounded = { ...s, durationMs: Math.round(s.durationMs) };
    this.steps.push(rounded);
    this.onStep?.(rounded);
  }
}
