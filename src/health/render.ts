import type { HealthStatus } from './checks.js';
import type { CheckResult, HealthReport } from './runner.js';

/**
 * The renderers of a HealthReport: table rows (printed with renderTable), JSON, one
 * Nagios/Icinga status line with perfdata, and Prometheus text for node_exporter's
 * textfile collector. Pure functions of the report.
 */
const STATUS_VALUE: Record<HealthStatus, number> = { ok: 0, warning: 1, critical: 2, unknown: 3 };

/** A value with its unit, for people (bytes in binary units). */
export function formatValue(value: number | null, unit: string): string {
  if (value === null) return '-';
  if (unit === 'B') {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let v = value;
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
  }
  const n = Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  return unit === '' ? n : unit === 'x' || unit === '%' ? `${n}${unit}` : `${n} ${unit}`;
}

export const TABLE_HEAD = ['check', 'status', 'value', 'warn / crit', 'detail'];

/** Rows for renderTable; the remedy follows the detail of a warning or critical check. */
export function tableRows(report: HealthReport): string[][] {
  return report.checks.map((c) => [
    c.name,
    c.status.toUpperCase(),
    formatValue(c.value, c.unit),
    `${c.warning === null ? '-' : formatValue(c.warning, c.unit)} / ${c.critical === null ? '-' : formatValue(c.critical, c.unit)}`,
    c.remedy ? `${c.detail}\nfix: ${c.remedy}` : c.detail,
  ]);
}

export function summaryLine(report: HealthReport): string {
  const { counts } = report;
  return `health: ${report.status.toUpperCase()} (${counts.critical} critical, ${counts.warning} warning, ${counts.unknown} unknown, ${counts.ok} ok) in ${report.durationMs} ms`;
}

/** The JSON document (also what --json prints). */
export function toJson(report: HealthReport, exitCode: number): Record<string, unknown> {
  return { status: report.status, exitCode, startedAt: report.startedAt, durationMs: report.durationMs, counts: report.counts, checks: report.checks };
}

const NAGIOS_UOM: Record<string, string> = { '%': '%', s: 's', B: 'B' };

function perfdata(c: CheckResult): string | undefined {
  if (c.value === null) return undefined;
  const uom = NAGIOS_UOM[c.unit] ?? '';
  // Nagios ranges alert outside them: "N" alerts above N, "N:" alerts below N.
  const range = (limit: number | null) => (limit === null ? '' : c.direction === 'below' ? `${limit}:` : String(limit));
  return `${c.name}=${c.value}${uom};${range(c.warning)};${range(c.critical)}`;
}

/**
 * One status line as Nagios and Icinga plugins print it:
 * `BOOKINGDB WARNING - 1 warning: dead-tuples 25%; 40 ok | connections=12%;80;95 ...`
 * The problems come first (critical, warning, unknown, each with its value), then the
 * perfdata of every measured check.
 */
export function renderNagios(report: HealthReport): string {
  const problems = (['critical', 'warning', 'unknown'] as HealthStatus[])
    .filter((s) => report.counts[s] > 0)
    .map((s) => `${report.counts[s]} ${s}: ${report.checks.filter((c) => c.status === s)
      .map((c) => (c.value === null ? c.name : `${c.name} ${formatValue(c.value, c.unit)}`)).join(', ')}`);
  const summary = [...problems, `${report.counts.ok} ok`].join('; ');
  const perf = report.checks.map(perfdata).filter(Boolean).join(' ');
  return `BOOKINGDB ${report.status.toUpperCase()} - ${summary}${perf ? ` | ${perf}` : ''}`;
}

/** The status line when the database could not be reached (exit 3). */
export function renderNagiosUnknown(message: string): string {
  return `BOOKINGDB UNKNOWN - ${message.replace(/[|\n]/g, ' ')}`;
}

/**
 * Prometheus text (prom-client, a fresh Registry per run) for the node_exporter textfile
 * collector: bookingdb_health_status{check,category} 0 ok, 1 warning, 2 critical,
 * 3 unknown; bookingdb_health_value{check,unit} (measured checks only);
 * bookingdb_health_up; bookingdb_health_duration_seconds; bookingdb_health_last_run_timestamp_seconds.
 */
export async function renderPrometheus(report: HealthReport | { error: string }): Promise<string> {
  const { Registry, Gauge } = await import('prom-client');
  const registry = new Registry();
  const up = new Gauge({ name: 'bookingdb_health_up', help: 'Whether health-check could connect to the database (1) or not (0).', registers: [registry] });
  const lastRun = new Gauge({ name: 'bookingdb_health_last_run_timestamp_seconds', help: 'Unix time of this health-check run.', registers: [registry] });
  lastRun.set(Math.round(Date.now() / 1000));
  if ('error' in report) {
    up.set(0);
    return registry.metrics();
  }
  up.set(1);
  const status = new Gauge({ name: 'bookingdb_health_status', help: 'Status of a bookingdb health check: 0 ok, 1 warning, 2 critical, 3 unknown.', labelNames: ['check', 'category'], registers: [registry] });
  const value = new Gauge({ name: 'bookingdb_health_value', help: 'The measured value of a bookingdb health check, in the unit of its label.', labelNames: ['check', 'unit'], registers: [registry] });
  const duration = new Gauge({ name: 'bookingdb_health_duration_seconds', help: 'Wall time of the health-check run.', registers: [registry] });
  for (const c of report.checks) {
    status.set({ check: c.name, category: c.category }, STATUS_VALUE[c.status]);
    if (c.value !== null) value.set({ check: c.name, unit: c.unit === '' ? 'count' : c.unit }, c.value);
  }
  duration.set(report.durationMs / 1000);
  return registry.metrics();
}
