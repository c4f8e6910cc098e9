import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The suite runs against a real PostgreSQL (see test/helpers/global-setup.ts).
export default defineConfig({
  test: {
    // fileURLToPath, not URL.pathname: a checkout path with a space or non-ASCII would
    // stay percent-encoded and vitest would find no test files.
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
