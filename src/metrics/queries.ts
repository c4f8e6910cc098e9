import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

/**
 * The read-only SQL of `bookingdb metrics`, one file per query under
 * sql/queries/metrics/ (tsc does not copy .sql; they ship with the package). Read
 * once per process: `metrics serve` runs them on every database round.
 */
export type MetricsQuery =
  | 'window' | 'previous-snapshot' | 'server' | 'relations' | 'dead-tuples'
  | 'tenant-activity' | 'conflicts' | 'store-snapshot' | 'prune-snapshots' | 'replication';

const cache = new Map<MetricsQuery, string>();

export function metricsQuery(name: MetricsQuery): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot, 'sql', 'queries', 'metrics', `${name}.sql`), 'utf8').replace(/\r\n?/g, '\n');
    cache.set(name, text);
  }
  return text;
}
