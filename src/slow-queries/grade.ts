/**
 * The A-F grade of a statement: a pure function of its mean execution time, its shared
 * buffer hit ratio and its share of the database's total execution time, so a DBA can
 * recompute any grade from the numbers in the same row.
 *
 * 1. The best grade whose every limit the statement meets (the table below): mean time
 *    says how long one call keeps a booking request waiting; the hit ratio says whether
 *    it is served from shared buffers or reads from disk (no buffers touched counts as
 *    100%).
 * 2. A statement slower than grade A's mean that takes at least `dominantShare` of all
 *    execution time in the database drops one grade (B->C, C->D, D->F): that is where
 *    tuning pays first. A fast statement (A) that dominates is just the workload.
 *
 * School grades: A, B, C, D, F (there is no E).
 */
export type Grade = 'A' | 'B' | 'C' | 'D' | 'F';

export interface GradeRule {
  grade: Grade;
  /** Highest mean execution time (ms) for this grade. */
  maxMeanMs: number;
  /** Lowest shared-buffer hit ratio (0..1) for this grade. */
  minHitRatio: number;
}

export interface GradingOptions {
  rules: GradeRule[];
  /** Share of the database's total execution time (0..1) from which a non-A statement drops one grade. */
  dominantShare: number;
}

/** The defaults; documented in the README's grading table. */
export const DEFAULT_GRADING: GradingOptions = {
  rules: [
    { grade: 'A', maxMeanMs: 5, minHitRatio: 0.99 },
    { grade: 'B', maxMeanMs: 25, minHitRatio: 0.95 },
    { grade: 'C', maxMeanMs: 100, minHitRatio: 0.9 },
    { grade: 'D', maxMeanMs: 500, minHitRatio: 0 },
  ],
  dominantShare: 0.2,
};

const ORDER: Grade[] = ['A', 'B', 'C', 'D', 'F'];

export interface GradeInput {
  meanMs: number;
  /** shared_blks_hit / (hit + read), or null when the statement touched no shared buffers. */
  hitRatio: number | null;
  /** Its total time / the database's total time (0..1), or null when nothing has run. */
  share: number | null;
}

export interface GradeResult {
  grade: Grade;
  /** One line that says why, e.g. "mean 30.1 ms, hit 99.5% -> C; 34% of all time -> D". */
  reason: string;
}

/** Hit ratios need the decimal (99.5% and 100% grade differently); shares do not. */
function hitPct(x: number): string {
  const p = x * 100;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)}%`;
}

function sharePct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function ms(x: number): string {
  return `${x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)} ms`;
}

/** Grades one statement; see the module comment for the rules. */
export function gradeStatement(input: GradeInput, options: GradingOptions = DEFAULT_GRADING): GradeResult {
  const hit = input.hitRatio ?? 1;
  const rule = options.rules.find((r) => input.meanMs <= r.maxMeanMs && hit >= r.minHitRatio);
  let grade: Grade = rule ? rule.grade : 'F';
  const hitText = input.hitRatio === null ? 'no buffer reads' : `hit ${hitPct(input.hitRatio)}`;
  let reason = `mean ${ms(input.meanMs)}, ${hitText} -> ${grade}`;
  const fastest = options.rules[0]?.maxMeanMs ?? 0;
  if (input.share !== null && input.share >= options.dominantShare && input.meanMs > fastest && grade !== 'F') {
    grade = ORDER[ORDER.indexOf(grade) + 1];
    reason += `; ${sharePct(input.share)} of all time -> ${grade}`;
  }
  return { grade, reason };
}

/** Sort helper: 0 for A .. 4 for F. */
export function gradeRank(grade: Grade): number {
  return ORDER.indexOf(grade);
}
