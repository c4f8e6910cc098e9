import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import { startTestServer } from './server.js';
import { deploy } from '../../src/deploy/deploy.js';
import { withDatabase } from '../../src/db/url.js';

/**
 * Starts (or finds) the test server once, deploys the template database with the
 * real deploy pipeline, and hands its coordinates to every test file. Each file then
 * clones the template into a database of its own (test/helpers/database.ts).
 */
export const TEMPLATE_DB = 'bookingdb_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    serverKind: string;
    serverLog: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer();
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => undefined });
  try {
    // Leftovers from an interrupted earlier run.
    const stale = await admin`select datname from pg_database where datname like 'bktest\\_%' or datname = ${TEMPLATE_DB}`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
  } finally {
    await admin.end();
  }
  await deploy({
    url: withDatabase(server.adminUrl, TEMPLATE_DB),
    rolePrefix: 'bookingdb',
    lockWaitSeconds: 60,
    lockTimeoutMs: 5000,
    connectTimeoutSeconds: 10,
  });
  project.provide('adminUrl', server.adminUrl);
  project.provide('templateDb', TEMPLATE_DB);
  project.provide('serverKind', server.kind);
  project.provide('serverLog', server.logFile ?? '');
  return async () => {
    await server.stop();
  };
}
