import { describe, expect, it } from 'vitest';
import { isoWeek, localDate, selectRetention, type RetentionInput } from '../../src/backup/retention.js';

// Retention selection over a synthetic calendar: which backups stay, and why.

const b = (iso: string, verified: RetentionInput['verified'] = null): RetentionInput => ({ id: new Date(iso).toISOString(), startedAt: new Date(iso), verified });
const kept = (d: ReturnType<typeof selectRetention>) => d.filter((x) => x.action === 'keep').map((x) => x.id);
const reasonsOf = (d: ReturnType<typeof selectRetention>, id: string) => d.find((x) => x.id === id)!.reasons;

/** One backup a day at 02:00 UTC from `from` for `days` days. */
function daily(from: string, days: number): RetentionInput[] {
  const start = Date.parse(`${from}T02:00:00Z`);
  return Array.from({ length: days }, (_, i) => b(new Date(start + i * 86_400_000).toISOString()));
}

describe('retention calendar helpers', () => {
  it('ISO weeks: Monday starts the week; the week-year of the first days of January can be the previous year', () => {
    expect(isoWeek({ year: 2026, month: 12, day: 28 })).toBe('2026-W53'); // a Monday
    expect(isoWeek({ year: 2027, month: 1, day: 3 })).toBe('2026-W53'); // Sunday of the same week
    expect(isoWeek({ year: 2027, month: 1, day: 4 })).toBe('2027-W01'); // next Monday
    expect(isoWeek({ year: 2024, month: 12, day: 30 })).toBe('2025-W01');
  });

  it('local dates follow the time zone, not UTC', () => {
    const t = new Date('2026-12-01T23:30:00Z');
    expect(localDate(t, 'UTC')).toEqual({ year: 2026, month: 12, day: 1 });
    expect(localDate(t, 'Europe/Berlin')).toEqual({ year: 2026, month: 12, day: 2 });
    expect(localDate(new Date('2026-12-01T03:00:00Z'), 'America/Los_Angeles')).toEqual({ year: 2026, month: 11, day: 30 });
  });
});

describe('selectRetention', () => {
  const now = new Date('2027-03-01T12:00:00Z');

  it('keeps the newest backup of each of the newest N days, weeks and months; deletes the rest', () => {
    // 120 days of nightly backups ending 2027-02-28, plus a second backup on the last day
    const backups = [...daily('2026-11-01', 120), b('2027-02-28T14:00:00Z')];
    const d = selectRetention(backups, now, { daily: 7, weekly: 4, monthly: 3 }, 'UTC');
    const keep = kept(d);
    // daily: 2027-02-22 .. 2027-02-28 (the 14:00 one for the 28th, not the 02:00 one)
    expect(keep).toContain('2027-02-28T14:00:00.000Z');
    expect(keep).not.toContain('2027-02-28T02:00:00.000Z');
    for (let day = 22; day <= 27; day++) expect(keep).toContain(`2027-02-${day}T02:00:00.000Z`);
    expect(keep).not.toContain('2027-02-20T02:00:00.000Z');
    // weekly: the Sundays 2027-02-21, 2027-02-14, 2027-02-07 are the newest of their ISO weeks (the 28th is in the daily set too)
    expect(reasonsOf(d, '2027-02-21T02:00:00.000Z')).toEqual(['weekly 2027-W07']);
    expect(reasonsOf(d, '2027-02-14T02:00:00.000Z')).toEqual(['weekly 2027-W06']);
    expect(reasonsOf(d, '2027-02-07T02:00:00.000Z')).toEqual(['weekly 2027-W05']);
    // monthly: the last backup of January and of December
    expect(reasonsOf(d, '2027-01-31T02:00:00.000Z')).toEqual(['monthly 2027-01']);
    expect(reasonsOf(d, '2026-12-31T02:00:00.000Z')).toEqual(['monthly 2026-12']);
    expect(reasonsOf(d, '2027-02-28T14:00:00.000Z')).toEqual(['newest backup', 'daily 2027-02-28', 'weekly 2027-W08', 'monthly 2027-02']);
    // 7 daily + 3 more weekly + 2 more monthly; November is the 4th month: gone
    expect(keep).toHaveLength(12);
    expect(keep).not.toContain('2026-11-30T02:00:00.000Z');
    expect(d.filter((x) => x.action === 'delete').every((x) => x.reasons.length === 0)).toBe(true);
  });

  it('counts the days that have backups, not calendar days: a gap does not empty the daily set', () => {
    const backups = [...daily('2026-12-01', 5), ...daily('2027-02-20', 3)];
    const d = selectRetention(backups, now, { daily: 7, weekly: 0, monthly: 0 }, 'UTC');
    expect(kept(d)).toHaveLength(7);
    expect(kept(d)).not.toContain('2026-12-01T02:00:00.000Z');
  });

  it('a time zone where the local date differs from UTC puts a backup in another day, week and month', () => {
    // 23:30 UTC on Sunday 2027-01-31 is Monday 2027-02-01 00:30 in Berlin: another day, ISO week and month
    const backups = [b('2027-01-31T20:00:00Z'), b('2027-01-31T23:30:00Z')];
    const utc = selectRetention(backups, now, { daily: 2, weekly: 2, monthly: 2 }, 'UTC');
    expect(kept(utc)).toEqual(['2027-01-31T23:30:00.000Z']);
    expect(utc.find((x) => x.id === '2027-01-31T20:00:00.000Z')!.action).toBe('delete');
    const berlin = selectRetention(backups, now, { daily: 2, weekly: 2, monthly: 2 }, 'Europe/Berlin');
    expect(kept(berlin)).toEqual(['2027-01-31T23:30:00.000Z', '2027-01-31T20:00:00.000Z']);
    expect(reasonsOf(berlin, '2027-01-31T20:00:00.000Z')).toEqual(['daily 2027-01-31', 'weekly 2027-W04', 'monthly 2027-01']);
    expect(reasonsOf(berlin, '2027-01-31T23:30:00.000Z')).toEqual(['newest backup', 'daily 2027-02-01', 'weekly 2027-W05', 'monthly 2027-02']);
    // and west of UTC the same two are one local day (31 Jan, 15:00 and 18:30 in New York)
    expect(kept(selectRetention(backups, now, { daily: 2, weekly: 2, monthly: 2 }, 'America/New_York'))).toEqual(['2027-01-31T23:30:00.000Z']);
  });

  it('never deletes the newest backup that passed restore-verify, whatever the keep counts', () => {
    const backups = [b('2027-02-20T02:00:00Z', 'passed'), b('2027-02-21T02:00:00Z', 'passed'), b('2027-02-22T02:00:00Z', 'failed'), b('2027-02-23T02:00:00Z')];
    const d = selectRetention(backups, now, { daily: 1, weekly: 0, monthly: 0 }, 'UTC');
    expect(kept(d)).toEqual(['2027-02-23T02:00:00.000Z', '2027-02-21T02:00:00.000Z']);
    expect(reasonsOf(d, '2027-02-21T02:00:00.000Z')).toEqual(['newest backup that passed restore-verify']);
    // keep counts of zero still keep the newest and the newest verified
    expect(kept(selectRetention(backups, now, { daily: 0, weekly: 0, monthly: 0 }, 'UTC'))).toEqual(['2027-02-23T02:00:00.000Z', '2027-02-21T02:00:00.000Z']);
  });

  it('keeps a backup from after `now` (a clock moved back) and does not let it take a bucket', () => {
    const backups = [b('2027-02-27T02:00:00Z'), b('2027-02-28T02:00:00Z'), b('2027-03-05T02:00:00Z')];
    const d = selectRetention(backups, now, { daily: 1, weekly: 0, monthly: 0 }, 'UTC');
    expect(reasonsOf(d, '2027-03-05T02:00:00.000Z')).toEqual(['started after now (clock moved back?)', 'newest backup']);
    expect(reasonsOf(d, '2027-02-28T02:00:00.000Z')).toEqual(['daily 2027-02-28']);
    expect(d.find((x) => x.id === '2027-02-27T02:00:00.000Z')!.action).toBe('delete');
  });

  it('no backups: no decisions', () => {
    expect(selectRetention([], now, { daily: 7, weekly: 4, monthly: 12 }, 'UTC')).toEqual([]);
  });
});
