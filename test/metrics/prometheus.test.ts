import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate } from '../domain/helpers.js';
import { collectSnapshot, type Snapshot, type TenantMetrics, zeroCounts } from '../../src/metrics/collect.js';
import { defaultMetricsConfig, metricsConfigSchema, parseTenantLabels } from '../../src/metrics/config.js';
import { METRICS_DEFAULTS } from '../../src/metrics/defaults.js';
import { renderPrometheus } from '../../src/metrics/render.js';
import { capTenants } from '../../src/metrics/tenants.js';
import { collectOptions } from './helpers.js';

/** promtool check metrics: exit status and whatever it complained about. */
function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (Debian package prometheus): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function tenant(slug: string, created: number, extra: Partial<TenantMetrics> = {}): TenantMetrics {
  return {
    id: `id-${slug}`, slug, since: { ...zeroCounts(), created: 1 }, totals: { ...zeroCounts(), created },
    holdsPending: 1, waitlistWaiting: 2, bookedSecondsToday: 600, workingSecondsToday: 3600, ...extra,
  };
}

describe('tenant label capping', () => {
  const rows = [tenant('small', 1), tenant('big', 50), tenant('mid', 10), tenant('other', 99), tenant('tiny', 0)];

  it('top:N keeps the N tenants with the most bookings and sums the rest as "other"', () => {
    const series = capTenants(rows, parseTenantLabels('top:2'));
    expect(series.map((s) => s.tenant)).toEqual(['big', 'mid', 'other']);
    const other = series[2];
    // small, tiny and the tenant literally slugged "other" are summed
    expect(other.tenants).toBe(3);
    expect(other.totals.created).toBe(1 + 0 + 99);
    expect(other.holdsPending).toBe(3);
    expect(other.waitlistWaiting).toBe(6);
    expect(other.bookedSecondsToday).toBe(1800);
  });

  it('none gives one unlabelled series with everything; all one per tenant; no "other" when nothing is left over', () => {
    const none = capTenants(rows, parseTenantLabels('none'));
    expect(none).toHaveLength(1);
    expect(none[0].tenant).toBeUndefined();
    expect(none[0].totals.created).toBe(160);
    const all = capTenants(rows, parseTenantLabels('all'));
    expect(all.map((s) => s.tenant)).toEqual(['big', 'mid', 'small', 'tiny', 'other']);
    expect(capTenants(rows.slice(0, 3), parseTenantLabels('top:5')).map((s) => s.tenant)).toEqual(['big', 'mid', 'small']);
  });

  it('rejects malformed --tenant-labels with a usage error', () => {
    for (const bad of ['top:0', 'top:', 'some', 'top:10000', 'TOP:3']) {
      expect(() => parseTenantLabels(bad)).toThrow(/none, all or top:N/);
    }
  });
});

describe('the metrics config section', () => {
  it('defaults to what the command uses without a config file; rejects unknown keys and bad values naming the path', () => {
    expect(defaultMetricsConfig()).toEqual(METRICS_DEFAULTS);
    expect(metricsConfigSchema.parse({ tenantLabels: 'top:5', serve: { port: 9999 } }).serve).toEqual({ host: '127.0.0.1', port: 9999, cacheSeconds: 5 });
    const unknown = metricsConfigSchema.safeParse({ tenantLabel: 'all' });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toContain('tenantLabel');
    const bad = metricsConfigSchema.safeParse({ serve: { cacheSeconds: -1 } });
    expect(bad.error?.issues[0].path).toEqual(['serve', 'cacheSeconds']);
    expect(metricsConfigSchema.safeParse({ tenantLabels: 'top:0' }).success).toBe(false);
  });
});

describe('Prometheus text', () => {
  it('passes promtool check metrics for every label policy, with HELP/TYPE, counters as _total and the cap applied', async () => {
    const db = await createTestDatabase();
    const tenants = [];
    for (let i = 0; i < 3; i++) tenants.push(await createTenant(db.sql, { resources: 1 }));
    const app = await appPool(db);
    // tenant 0 gets two bookings, tenant 1 one, tenant 2 none
    for (const [i, n] of [[0, 2], [1, 1]] as const) {
      const t = tenants[i];
      const api = bookingApi(app.sql, t.tenantId);
      for (let k = 0; k < n; k++) {
        await api.book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[k], start: at(futureDate(2), `1${k}:00`, '+05:30') });
      }
    }
    const snapshot: Snapshot = await collectSnapshot(db.sql, collectOptions());

    const top1 = await renderPrometheus(snapshot, { tenantLabels: parseTenantLabels('top:1') });
    expect(promtool(top1)).toEqual({ status: 0, output: '' });
    expect(top1).toContain('# TYPE bookingdb_bookings_created_total counter');
    expect(top1).toContain('# HELP bookingdb_bookings_created_total ');
    expect(top1).toContain(`bookingdb_bookings_created_total{tenant="${tenants[0].slug}"} 2`);
    expect(top1).toContain('bookingdb_bookings_created_total{tenant="other"} 1');
    expect(top1).not.toContain(tenants[1].slug);
    expect(top1).toMatch(/^# TYPE bookingdb_cache_hit_ratio gauge$/m);
    expect(top1).toMatch(/^bookingdb_database_size_bytes \d+$/m);
    expect(top1).toMatch(/^bookingdb_connections\{state="active"\} [1-9]\d*$/m);
    // every counter is named _total
    const types = [...top1.matchAll(/^# TYPE (\S+) (\S+)$/gm)];
    expect(types.length).toBeGreaterThan(20);
    for (const [, name, type] of types) {
      expect(name).toMatch(/^bookingdb_[a-z_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
    }

    const all = await renderPrometheus(snapshot, { tenantLabels: parseTenantLabels('all') });
    expect(promtool(all)).toEqual({ status: 0, output: '' });
    for (const t of tenants) expect(all).toContain(`bookingdb_holds_pending{tenant="${t.slug}"} 0`);
    expect(all).not.toContain('tenant="other"');

    const none = await renderPrometheus(snapshot, { tenantLabels: parseTenantLabels('none') });
    expect(promtool(none)).toEqual({ status: 0, output: '' });
    expect(none).toMatch(/^bookingdb_bookings_created_total 3$/m);
    expect(none).not.toContain('tenant=');
  });

  it('promtool itself rejects a broken exposition (the check is not vacuous)', () => {
    expect(promtool('# TYPE bookingdb_x counter\nbookingdb_x{a="1" 2\n').status).not.toBe(0);
    expect(promtool('# HELP bookingdb_y_count y\n# TYPE bookingdb_y_count counter\nbookingdb_y_count 1\n').output).toMatch(/_total/);
  });
});
