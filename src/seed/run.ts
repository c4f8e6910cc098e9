import { connect } from '../db/connect.js';
import type { SeedOptions, SeedReport } from './demo.js';
import type { Context } from '../cli/context.js';

/** Glue between the CLI and the server-side demo generator in ./demo.ts. */
export type SeedSize = SeedOptions;

/** What `deploy --demo` loads: small enough to take a second or two. */
export const DEMO_SMALL: SeedSize = { tenants: 3, locationsPerTenant: 2, resourcesPerLocation: 4, days: 28, bookings: 2000 };

/** A seed report plus the warnings it printed (for --json). */
export interface SeedRun extends SeedReport {
  requested: SeedSize;
  warnings: string[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The lines a user needs to know what happened: skipped tenants, bookings that did not fit. */
export function describeSeed(report: SeedReport, size: SeedSize): { notes: string[]; warnings: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  const skipped = report.skipped.length;
  if (skipped > 0) {
    const shown = report.skipped.slice(0, 10).join(', ') + (skipped > 10 ? `, and ${skipped - 10} more` : '');
    notes.push(`skipped ${plural(skipped, 'demo tenant')} that already exist${skipped === 1 ? 's' : ''} (left unchanged): ${shown}`);
    if (report.seeded.tenants === 0) notes.push(`nothing new seeded: pass --tenants greater than ${size.tenants} to add tenants`);
  }
  if (report.seeded.tenants > 0 && size.bookings > report.capacity) {
    warnings.push(`asked for ${size.bookings} bookings but only ${report.capacity} fit the working hours of ${plural(report.seeded.resources, 'resource')} `
      + `over ${plural(size.days, 'day')}: seeded ${report.seeded.bookings}; raise --days, --resources-per-location or --tenants for more`);
  }
  return { notes, warnings };
}

export async function runSeedDemo(ctx: Context, url: string, size: SeedSize): Promise<SeedRun> {
  const sql = await connect(url, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 1 });
  try {
    const step = await ctx.out.step(`seeding demo data (${size.tenants} tenants, ${size.bookings} bookings)`);
    const { seedDemo: generate } = await import('./demo.js');
    let report: SeedReport;
    try {
      report = await generate(sql, size);
    } catch (error) {
      step.fail();
      throw error;
    }
    step.done();
    const { notes, warnings } = describeSeed(report, size);
    for (const n of notes) ctx.out.info(n);
    for (const w of warnings) ctx.out.warn(w);
    return { ...report, requested: size, warnings };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** For `deploy --demo`: the counts (notes and warnings go to stderr). */
export async function seedDemo(ctx: Context, url: string, size: SeedSize): Promise<Record<string, number>> {
  return { ...(await runSeedDemo(ctx, url, size)).seeded };
}
