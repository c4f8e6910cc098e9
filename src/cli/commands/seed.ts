import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import { usageError } from '../../errors.js';

/** Flag text to a number; the ranges are checked once, by the seed core. */
function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw usageError(`${name} must be a whole number, got "${value}"`);
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
        tenants: count('--tenants', opts.tenants, DEMO_SMALL.tenants),
        locationsPerTenant: count('--locations-per-tenant', opts.locationsPerTenant, DEMO_SMALL.locationsPerTenant),
        resourcesPerLocation: count('--resources-per-location', opts.resourcesPerLocation, DEMO_SMALL.resourcesPerLocation),
        days: count('--days', opts.days, DEMO_SMALL.days),
        bookings: count('--bookings', opts.bookings, DEMO_SMALL.bookings),
      };
      const { validateOptions } = await import('../../seed/demo.js');
      validateOptions(size); // bad sizes fail before anything starts or connects
      const target = await ctx.target();
      const result = await seedDemo(ctx, target.url, size);
      await ctx.out.result({ ok: true, seeded: result }, () => renderTable(['seeded', 'count'], Object.entries(result).map(([k, v]) => [k, v])));
    }));
}
