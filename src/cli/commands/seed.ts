import type { Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';

export function registerSeed(program: Command): void {
  const seed = program.command('seed').description('demo data');
  seed.command('demo').description('realistic demo tenants, resources, hours, customers and bookings, generated server-side')
    .option('--tenants <n>', 'tenants (default 3, 1 to 1000)')
    .option('--locations-per-tenant <n>', 'locations per tenant (default 2, 1 to 50)')
    .option('--resources-per-location <n>', 'resources per location (default 4, 1 to 200)')
    .option('--days <n>', 'days of bookings around today (default 28, 1 to 3650)')
    .option('--bookings <n>', 'bookings in total, at most what fits the hours (default 2000)')
    .addHelpText('after', '\nexample:\n  bookingdb seed demo --tenants 20 --resources-per-location 10 --days 365 --bookings 1000000')
    .action(action(async (ctx, opts) => {
      const { runSeedDemo, DEMO_SMALL } = await import('../../seed/run.js');
      const { SEED_LIMITS } = await import('../../seed/demo.js');
      const { parseInteger } = await import('../../validate.js');
      // strict whole numbers in range, named by flag; bad sizes fail before anything starts or connects
      const pick = (k: keyof typeof SEED_LIMITS): number =>
        opts[k] === undefined ? DEMO_SMALL[k] : parseInteger(SEED_LIMITS[k].flag, String(opts[k]), SEED_LIMITS[k]);
      const size = {
        tenants: pick('tenants'), locationsPerTenant: pick('locationsPerTenant'), resourcesPerLocation: pick('resourcesPerLocation'),
        days: pick('days'), bookings: pick('bookings'),
      };
      const target = await ctx.target();
      const run = await runSeedDemo(ctx, target.url, size);
      await ctx.out.result({
        ok: true,
        seeded: run.seeded,
        skipped: { tenants: run.skipped.length, slugs: run.skipped },
        capacity: run.capacity,
        requested: run.requested,
        warnings: run.warnings,
      }, () => renderTable(['seeded', 'count'], Object.entries(run.seeded).map(([k, v]) => [k, v])));
    }));
}
