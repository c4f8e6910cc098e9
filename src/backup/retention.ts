/**
 * Which backups to keep: a pure function, so the calendar rules are unit-tested without
 * a disk or a server. Rules (restic/borg style, over the backups that exist, not over
 * the calendar: if backups stopped for a fortnight, the last 7 daily ones still stay):
 *
 * - daily N:   the newest backup of each of the N newest local days that have a backup
 * - weekly N:  the newest backup of each of the N newest ISO weeks (Monday to Sunday)
 * - monthly N: the newest backup of each of the N newest calendar months
 * - newest:    the newest backup is always kept (a prune never leaves nothing)
 * - verified:  the newest backup whose restore-verify passed is always kept, so the last
 *              proven restore point survives any keep counts
 * - future:    a backup that started after `now` (a clock moved back) is kept
 *
 * Days, weeks and months are those of `timeZone` (an IANA name): a backup at 23:30 UTC
 * belongs to the next day in Europe/Berlin and to the same day in America/New_York.
 * Everything not kept for a reason is deleted.
 */
export interface RetentionInput {
  id: string;
  startedAt: Date;
  /** The newest restore-verify result, or null when never verified. */
  verified: 'passed' | 'failed' | null;
}

export interface KeepCounts {
  daily: number;
  weekly: number;
  monthly: number;
}

export type KeepReason = 'newest' | 'verified' | 'daily' | 'weekly' | 'monthly' | 'future';

export interface RetentionDecision {
  id: string;
  startedAt: Date;
  action: 'keep' | 'delete';
  /** Why it is kept (empty when deleted), e.g. ["daily 2026-12-01", "weekly 2026-W49"]. */
  reasons: string[];
  kinds: KeepReason[];
}

export const DEFAULT_KEEP: KeepCounts = { daily: 7, weekly: 4, monthly: 12 };

/** The local calendar date of an instant in an IANA time zone. */
export function localDate(instant: Date, timeZone: string): { year: number; month: number; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 week of a calendar date: "2026-W53" (the week-year may differ from the date's year). */
export function isoWeek(d: { year: number; month: number; day: number }): string {
  const date = new Date(Date.UTC(d.year, d.month - 1, d.day));
  const weekday = date.getUTCDay() || 7; // Monday 1 .. Sunday 7
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${pad(week)}`;
}

/** True for a time zone name Intl knows (what the config and --time-zone accept). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function selectRetention(backups: readonly RetentionInput[], now: Date, keep: KeepCounts, timeZone: string): RetentionDecision[] {
  const newestFirst = [...backups].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : -1));
  const decisions = new Map<string, RetentionDecision>(
    newestFirst.map((b) => [b.id, { id: b.id, startedAt: b.startedAt, action: 'delete', reasons: [], kinds: [] }]),
  );
  const mark = (id: string, kind: KeepReason, reason: string) => {
    const d = decisions.get(id)!;
    d.action = 'keep';
    d.kinds.push(kind);
    d.reasons.push(reason);
  };
  const buckets = (kind: 'daily' | 'weekly' | 'monthly', count: number, key: (b: RetentionInput) => string) => {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      if (seen.size >= count) break;
      if (b.startedAt.getTime() > now.getTime()) continue; // kept as "future" below; not a bucket of the past
      const k = key(b);
      if (seen.has(k)) continue;
      seen.add(k);
      mark(b.id, kind, `${kind} ${k}`);
    }
  };
  const day = (b: RetentionInput) => localDate(b.startedAt, timeZone);
  for (const b of newestFirst) {
    if (b.startedAt.getTime() > now.getTime()) mark(b.id, 'future', 'started after now (clock moved back?)');
  }
  if (newestFirst[0]) mark(newestFirst[0].id, 'newest', 'newest backup');
  const verified = newestFirst.find((b) => b.verified === 'passed');
  if (verified) mark(verified.id, 'verified', 'newest backup that passed restore-verify');
  buckets('daily', keep.daily, (b) => { const d = day(b); return `${d.year}-${pad(d.month)}-${pad(d.day)}`; });
  buckets('weekly', keep.weekly, (b) => isoWeek(day(b)));
  buckets('monthly', keep.monthly, (b) => { const d = day(b); return `${d.year}-${pad(d.month)}`; });
  return newestFirst.map((b) => decisions.get(b.id)!);
}
