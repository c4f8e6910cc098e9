import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { repoRoot, scratchDir } from '../helpers/cli.js';
import { appPool, at, bookingApi, createLogin, createTenant, futureDate } from '../domain/helpers.js';
import { parseTenantLabels } from '../../src/metrics/config.js';
import { startMetricsServer } from '../../src/metrics/serve.js';
import { collectOptions, loginPool } from './helpers.js';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** Resolves once the port can be bound again (the server let go of it). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('bookingdb metrics serve', () => {
  it('answers /metrics and /healthz, 404 elsewhere; a burst of scrapes costs one database round; counters keep growing', async () => {
    const db = await createTestDatabase();
    const t = await createTenant(db.sql, { resources: 1 });
    const app = await appPool(db);
    const monitor = loginPool((await createLogin(db, 'monitor')).url);
    const server = await startMetricsServer(monitor, {
      host: '127.0.0.1', port: 0, cacheSeconds: 300, tenantLabels: parseTenantLabels('top:20'), collect: collectOptions(),
    });
    try {
      const burst = await Promise.all(Array.from({ length: 12 }, () => fetch(`${server.url}/metrics`)));
      expect(burst.map((r) => r.status)).toEqual(Array(12).fill(200));
      expect(burst[0].headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const bodies = await Promise.all(burst.map((r) => r.text()));
      expect(new Set(bodies).size).toBe(1);
      expect(server.rounds()).toBe(1);
      expect(sample(bodies[0], 'bookingdb_exporter_rounds_total')).toBe(1);
      expect(sample(bodies[0], `bookingdb_bookings_created_total{tenant="${t.slug}"}`)).toBe(0);

      const health = await fetch(`${server.url}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
      const missing = await fetch(`${server.url}/metrics/extra`);
      expect(missing.status).toBe(404);
      await missing.text();
      const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
      expect(post.status).toBe(405);
      await post.text();
      expect(server.rounds()).toBe(1); // all of that came from the cache
    } finally {
      await server.close();
    }

    // without a cache every scrape is a round, and the counters chain from round to round
    const fresh = await startMetricsServer(monitor, {
      host: '127.0.0.1', port: 0, cacheSeconds: 0, tenantLabels: parseTenantLabels('all'), collect: collectOptions(),
    });
    try {
      const before = await (await fetch(`${fresh.url}/metrics`)).text();
      await bookingApi(app.sql, t.tenantId).book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[0], start: at(futureDate(2), '10:00', '+05:30') });
      const afterOne = await (await fetch(`${fresh.url}/metrics`)).text();
      const afterTwo = await (await fetch(`${fresh.url}/metrics`)).text();
      expect(fresh.rounds()).toBe(3);
      const created = (text: string) => sample(text, `bookingdb_bookings_created_total{tenant="${t.slug}"}`);
      expect([created(before), created(afterOne), created(afterTwo)]).toEqual([0, 1, 1]);
      expect(sample(afterOne, `bookingdb_holds_pending{tenant="${t.slug}"}`)).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('the built CLI serves scrapes as a monitor login and exits 0 on SIGTERM, freeing its port', async () => {
    const db = await createTestDatabase();
    await createTenant(db.sql, { resources: 1 });
    const monitor = await createLogin(db, 'monitor');
    const child = spawn(process.execPath, [join(repoRoot, 'bin/bookingdb.js'), 'metrics', 'serve', '--port', '0', '--database-url', monitor.url], {
      cwd: scratchDir(), env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line: ${stderr}`)), 30_000);
        child.stderr.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) { clearTimeout(timer); resolve(m[1]); }
        });
        child.once('close', () => { clearTimeout(timer); reject(new Error(`exited early: ${stderr}`)); });
      });
      const port = Number(new URL(url).port);
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^bookingdb_exporter_rounds_total 1$/m);
      expect(await portIsFree(port)).toBe(false);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/SIGTERM: stopping after 1 database rounds/);
      expect(stderr).not.toContain(monitor.password);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
