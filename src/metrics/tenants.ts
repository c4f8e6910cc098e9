import { ACTIONS, zeroCounts, type ActionCounts, type TenantMetrics } from './collect.js';
import type { TenantLabels } from './defaults.js';

/**
 * Per-tenant label capping, so a platform with thousands of tenants cannot explode a
 * Prometheus server: `none` gives no tenant label (one series per metric), `all` one
 * per tenant, `top:N` the N tenants with the most bookings created (cumulative, then
 * in this window, then by slug, so the choice is stable from one scrape to the next)
 * and the rest summed as tenant="other". A tenant whose slug is literally `other` is
 * always summed into the bucket. Labels are tenant slugs (not PII).
 */
export const OTHER = 'other';

/** A tenant's metrics (or several tenants' summed) under one label. */
export interface TenantSeries extends Omit<TenantMetrics, 'id' | 'slug'> {
  /** The tenant label; undefined when tenant labels are off. */
  tenant?: string;
  /** How many tenants this series sums. */
  tenants: number;
}

function sumOf(rows: TenantMetrics[], tenant?: string): TenantSeries {
  const s: TenantSeries = { tenant, since: zeroCounts(), totals: zeroCounts(), holdsPending: 0, waitlistWaiting: 0, bookedSecondsToday: 0, workingSecondsToday: 0, tenants: rows.length };
  for (const r of rows) {
    for (const k of ACTIONS) {
      s.since[k] += r.since[k];
      s.totals[k] += r.totals[k];
    }
    s.holdsPending += r.holdsPending;
    s.waitlistWaiting += r.waitlistWaiting;
    s.bookedSecondsToday += r.bookedSecondsToday;
    s.workingSecondsToday += r.workingSecondsToday;
  }
  return s;
}

function rank(a: TenantMetrics, b: TenantMetrics): number {
  return b.totals.created - a.totals.created || b.since.created - a.since.created || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);
}

/** The series to expose for the tenants under a label policy. */
export function capTenants(rows: TenantMetrics[], labels: TenantLabels): TenantSeries[] {
  if (labels.mode === 'none') return [sumOf(rows)];
  const named = rows.filter((r) => r.slug !== OTHER).sort(rank);
  const keep = labels.mode === 'all' ? named : named.slice(0, labels.n);
  const kept = new Set(keep.map((r) => r.id));
  const rest = rows.filter((r) => !kept.has(r.id));
  const series = keep.map((r) => sumOf([r], r.slug));
  if (rest.length > 0) series.push(sumOf(rest, OTHER));
  return series;
}
