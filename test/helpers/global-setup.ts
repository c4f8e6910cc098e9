import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import { startTestServer } from './server.js';
import { claimScratchRoot, removeScratchRoot } from './scratch.js';
import { deploy } from '../../src/deploy/deploy.js';
import { withDatabase } from '../../src/db/url.js';

/**
 * Starts (or finds) the test server once, deploys the template database with the
 * real deploy pipeline, and hands its coordinates to every test file. Each file then
 * clones the template into a database of its own (test/helpers/database.ts).
 *
 * Everything a run creates on disk (scratch project directories, package copies, the
 * embedded test cluster unless BOOKINGDB_TEST_CLUSTER_DIR keeps it elsewhere) lives under
 * one run directory, removed by the teardown after stopping any server left in it.
 */
export const TEMPLATE_DB = 'bookingdb_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    serverKind: string;
    serverLog: string;
    scratchRoot: string;
  }
}

export default async function setup(project: TestProject) {
  const scratchRoot = mkdtempSync(join(tmpdir(), 'bookingdb-test-'));
  chmodSync(scratchRoot, 0o711); // as root the servers run as postgres, which must pass through
  project.provide('scratchRoot', scratchRoot);
  await claimScratchRoot(scratchRoot);
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  const teardown = async () => {
    try {
      await server?.stop();
    } finally {
      await removeScratchRoot(scratchRoot);
    }
  };
  try {
    server = await startTestServer(scratchRoot);
    await prepareTemplate(server.adminUrl);
  } catch (error) {
    await teardown();
    throw error;
  }
  project.provide('adminUrl', server.adminUrl);
  project.provide('templateDb', TEMPLATE_DB);
  project.provide('serverKind', server.kind);
  project.provide('serverLog', server.logFile ?? '');
  return teardown;
}

async function prepareTemplate(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    // Leftovers from an interrupted earlier run.
    const stale = await admin`select datname from pg_database where datname like 'bktest\\_%' or datname = ${TEMPLATE_DB}`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
  } finally {
    await admin.end();
  }
  await deploy({
    url: withDatabase(adminUrl, TEMPLATE_DB),
    rolePrefix: 'bookingdb',
    lockWaitSeconds: 60,
    lockTimeoutMs: 5000,
    connectTimeoutSeconds: 10,
  });
}
