import { redactSecrets } from './url.js';

/**
 * Where connection warnings (e.g. a group-readable ~/.pgpass) go: stderr by default,
 * the CLI's output channel once a command runs. Its own module so the CLI can set it
 * without loading postgres.js. Each distinct warning is given once per process.
 */
let sink: (message: string) => void = (m) => process.stderr.write(`warning: ${redactSecrets(m)}\n`);
const given = new Set<string>();

export function setConnectionWarnings(fn: (message: string) => void): void {
  sink = fn;
}

export function warnOnce(message: string): void {
  if (given.has(message)) return;
  given.add(message);
  sink(message);
}
