import type { Snapshot } from './collect.js';
import type { TenantLabels } from './defaults.js';
import { METRICS, type Sample } from './definitions.js';
import { capTenants } from './tenants.js';

/**
 * The one renderer of a snapshot: Prometheus text (prom-client, a fresh Registry per
 * snapshot, so HELP/TYPE and label escaping are right and nothing leaks between
 * snapshots), or rows for a table. Samples whose value is unknown (null) are left out.
 */
export interface RenderOptions {
  tenantLabels: TenantLabels;
  /** Extra gauges/counters of the caller (e.g. `metrics serve`'s own round counter). */
  extra?: { name: string; type: 'gauge' | 'counter'; help: string; value: number }[];
}

export interface MetricRow {
  name: string;
  type: 'gauge' | 'counter';
  labels: Record<string, string>;
  value: number;
}

/** Every sample of the snapshot under the label policy, in definition order. */
export function metricRows(snapshot: Snapshot, options: RenderOptions): MetricRow[] {
  const tenants = capTenants(snapshot.bookings.tenants, options.tenantLabels);
  const rows: MetricRow[] = [];
  for (const def of METRICS) {
    for (const sample of def.samples(snapshot, tenants) as Sample[]) {
      if (sample.value === null || !Number.isFinite(sample.value)) continue;
      rows.push({ name: def.name, type: def.type, labels: sample.labels, value: sample.value });
    }
  }
  for (const e of options.extra ?? []) rows.push({ name: e.name, type: e.type, labels: {}, value: e.value });
  return rows;
}

/** Prometheus text exposition format 0.0.4. */
export async function renderPrometheus(snapshot: Snapshot, options: RenderOptions): Promise<string> {
  const { Registry, Gauge, Counter } = await import('prom-client');
  const registry = new Registry();
  const help = new Map(METRICS.map((d) => [d.name, d.help]));
  for (const e of options.extra ?? []) help.set(e.name, e.help);
  const metrics = new Map<string, InstanceType<typeof Gauge> | InstanceType<typeof Counter>>();
  const defs = [...METRICS.map((d) => ({ name: d.name, type: d.type, labels: d.labels })),
    ...(options.extra ?? []).map((e) => ({ name: e.name, type: e.type, labels: [] as string[] }))];
  for (const d of defs) {
    const labelNames = options.tenantLabels.mode === 'none' ? d.labels.filter((l) => l !== 'tenant') : d.labels;
    const config = { name: d.name, help: help.get(d.name) ?? d.name, labelNames, registers: [registry] };
    metrics.set(d.name, d.type === 'counter' ? new Counter(config) : new Gauge(config));
  }
  for (const row of metricRows(snapshot, options)) {
    const m = metrics.get(row.name)!;
    if (m instanceof Counter) m.inc(row.labels, row.value);
    else (m as InstanceType<typeof Gauge>).set(row.labels, row.value);
  }
  return registry.metrics();
}

/** Rows for the table renderer: metric, labels, value. */
export function tableRows(snapshot: Snapshot, options: RenderOptions): string[][] {
  return metricRows(snapshot, options).map((r) => [
    r.name,
    Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(', '),
    Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(4),
  ]);
}
