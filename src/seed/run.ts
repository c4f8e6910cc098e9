import { connect } from '../db/connect.js';
import type { SeedOptions } from './demo.js';
import type { Context } from '../cli/context.js';

/** Glue between the CLI and the server-side demo generator in ./demo.ts. */
export type SeedSize = SeedOptions;

/** What `deploy --demo` loads: small enough to take a second or two. */
export const DEMO_SMALL: SeedSize = { tenants: 3, locationsPerTenant: 2, resourcesPerLocation: 4, days: 28, bookings: 2000 };

export async function seedDemo(ctx: Context, url: string, size: SeedSize): Promise<Record<string, number>> {
  const sql = await connect(url, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 1 });
  try {
    const step = await ctx.out.step(`seeding demo data (${size.tenants} tenants, ${size.bookings} bookings)`);
    const { seedDemo: generate } = await import('./demo.js');
    const result = { ...(await generate(sql, size)) };
    step.done();
    return result;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
