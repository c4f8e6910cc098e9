import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import { usageError } from '../../errors.js';

function count(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw usageError(`${name} must be a whole number from 0 to ${max}, got "${value}"`);
  return n;
}

export function registerSeed(program: Command): void {
  const seed = program.command('seed').description('demo data');
  seed.command('demo').description('realistic demo tenants, resources, hours, customers and bookings, generated server-side')
    .option('--tenants <n>', 'tenants (default 3)')
    .option('--locations-per-tenant <n>', 'locations per tenant (default 2)')
    .option('--resources-per-location <n>', 'resources per location (default 4)')
    .option('--days <n>', 'days of bookings around today (default 28)')
    .option('--bookings <n>', 'bookings in total (default 2000)')
    .addHelpText('after', '\nexample:\n  bookingdb seed demo --tenants 20 --resources-per-location 10 --days 365 --bookings 1000000')
    .action(action(async (ctx, opts) => {
      const { seedDemo, DEMO_SMALL } = await import('../../seed/run.js');
      const size = {
        tenants: count('--tenants', opts.tenants, DEMO_SMALL.tenants, 10_000),
        locationsPerTenant: count('--locations-per-tenant', opts.locationsPerTenant, DEMO_SMALL.locationsPerTenant, 1000),
        resourcesPerLocation: count('--resources-per-location', opts.resourcesPerLocation, DEMO_SMALL.resourcesPerLocation, 1000),
        days: count('--days', opts.days, DEMO_SMALL.days, 3660),
        bookings: count('--bookings', opts.bookings, DEMO_SMALL.bookings, 100_000_000),
      };
      if (size.tenants < 1) throw usageError('--tenants must be at least 1');
      const target = await ctx.target();
      const result = await seedDemo(ctx, target.url, size);
      await ctx.out.result({ ok: true, seeded: result }, () => renderTable(['seeded', 'count'], Object.entries(result).map(([k, v]) => [k, v])));
    }));
}
