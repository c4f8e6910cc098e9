import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * The package root (where sql/ and migrations/ ship). Compiled code lives in dist/,
 * so the root is one level above this file's folder; tsc does not copy .sql files.
 */
export const packageRoot = fileURLToPath(new URL('../', import.meta.url));

export const paths = {
  migrations: join(packageRoot, 'migrations'),
  schema: join(packageRoot, 'sql', 'schema'),
  verify: join(packageRoot, 'sql', 'verify'),
  seed: join(packageRoot, 'sql', 'seed'),
};
