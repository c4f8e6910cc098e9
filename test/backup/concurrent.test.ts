import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueName } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { appPool, at, bookingApi, createTenant, futureDate, settle } from '../domain/helpers.js';
import { withDatabase } from '../../src/db/url.js';
import { countTables, onlyManifest, pgRestorePath, run } from './helpers.js';

// A backup taken while 16 clients book: the manifest's counts are those of the dump's
// own snapshot, so a plain pg_restore of the archive has exactly those counts, though
// the source kept changing during and after the dump.
const db = await createTestDatabase();
const cwd = scratchDir();
const { sql: app } = await appPool(db, 16);

describe('a backup under live traffic', { timeout: 180_000 }, () => {
  it("while 16 clients book, the manifest's counts equal the restored database's counts", async () => {
    const fx = await createTenant(db.sql, { resources: 8, customers: 16, hours: [['00:00', '24:00']] });
    const api = bookingApi(app, fx.tenantId);
    let stop = false;
    let booked = 0;
    const unexpected: string[] = [];
    const clients = fx.customers.map(async (customer, c) => {
      for (let i = 0; !stop; i++) {
        const day = futureDate(3 + ((i * 16 + c) % 300));
        const hour = String((i + c) % 24).padStart(2, '0');
        const r = await settle(api.book({ service: fx.services.cut, resource: fx.resources[(i + c) % 8], customer, start: at(day, `${hour}:00`, '+05:30') }));
        if (r.ok) booked++;
        else if (r.code !== '23P01') unexpected.push(`${r.code}: ${r.message}`);
      }
    });
    while (booked < 50) await new Promise((r) => setTimeout(r, 20));
    const bookedBefore = booked;
    const dir = join(cwd, 'live');
    const res = await runCli(['backup', '--database-url', db.url, '--dir', dir, '--json'], { cwd, timeoutMs: 120_000 });
    const bookedDuring = booked - bookedBefore;
    while (booked < bookedBefore + bookedDuring + 20) await new Promise((r) => setTimeout(r, 20)); // and it keeps changing after
    stop = true;
    await Promise.all(clients);
    expect(res.code, res.stderr).toBe(0);
    expect(unexpected).toEqual([]);
    expect(bookedDuring, 'bookings were made while the backup ran').toBeGreaterThan(0);
    const m = await onlyManifest(dir);

    const target = uniqueName('bkrestore');
    const admin = postgres(db.adminUrl, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database "${target}" template template0`);
    try {
      const targetUrl = withDatabase(db.adminUrl, target);
      await run(await pgRestorePath(db.sql), ['--exit-on-error', `--dbname=${targetUrl}`, join(dir, m.id, 'dump.pgdump')], { maxBuffer: 16 << 20 });
      const restored = postgres(targetUrl, { max: 1, onnotice: () => undefined });
      try {
        expect(await countTables(restored, Object.keys(m.tables))).toEqual(m.tables);
      } finally {
        await restored.end({ timeout: 5 });
      }
      const source = await countTables(db.sql, ['booking.bookings']);
      expect(source['booking.bookings']).toBeGreaterThan(m.tables['booking.bookings']); // the source moved on
      expect(m.tables['booking.bookings']).toBeGreaterThanOrEqual(bookedBefore);
    } finally {
      await admin.unsafe(`drop database if exists "${target}" with (force)`);
      await admin.end();
    }
  });
});
