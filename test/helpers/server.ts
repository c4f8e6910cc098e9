import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the test PostgreSQL comes from: TEST_DATABASE_URL, else a Testcontainers
 * PostgreSQL when a container runtime answers, else the bundled embedded PostgreSQL
 * (a cluster of its own, not the developer's local one).
 *
 * The embedded cluster lives in the run's scratch directory and is removed with it by
 * the global teardown, on a free port, so two checkouts can test at once. With
 * BOOKINGDB_TEST_CLUSTER_DIR it lives there and is kept (a faster next run: no initdb);
 * BOOKINGDB_TEST_PORT fixes its port.
 */
export interface TestServer {
  adminUrl: string;
  kind: 'env' | 'container' | 'embedded';
  /** The server log, when this process can read it (embedded only). */
  logFile?: string;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Every test file's database adds its own pg_stat_statements entries (a deploy alone is
 * hundreds): with the default 5000 the table fills and evicts entries a slow-queries test
 * is about to read. Both kinds of test server get this.
 */
const PGSS_MAX = '20000';

async function tryContainer(): Promise<TestServer | undefined> {
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15')
      .withCommand(['postgres', '-c', 'shared_preload_libraries=pg_stat_statements', '-c', `pg_stat_statements.max=${PGSS_MAX}`])
      .start();
    // Docker's port mapping is a proxy that keeps one server session per client: say so,
    // or deploy/migrate/maintain would refuse it as a possible pooler (src/db/pooler.ts).
    process.env.BOOKINGDB_PROXY_MODE ??= 'session';
    return { adminUrl: container.getConnectionUri(), kind: 'container', stop: async () => { await container.stop(); } };
  } catch {
    return undefined; // "Could not find a working container runtime strategy": fall back
  }
}

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function embedded(scratchRoot: string): Promise<TestServer> {
  const { localCluster, startLocal, stopLocal, localUrl } = await import('../../src/local/cluster.js');
  const port = process.env.BOOKINGDB_TEST_PORT ? Number(process.env.BOOKINGDB_TEST_PORT) : await freePort();
  // Under the temp directory rather than the checkout: as root the server runs as user
  // postgres, which may not be able to traverse the directories above a clone (/root).
  const kept = Boolean(process.env.BOOKINGDB_TEST_CLUSTER_DIR);
  const dir = process.env.BOOKINGDB_TEST_CLUSTER_DIR || join(scratchRoot, 'cluster');
  const cluster = localCluster(repoRoot, dir, port);
  // A throwaway cluster need not survive a crash: no fsync makes CREATE DATABASE ... TEMPLATE
  // (one per test file) and the shutdown cheap on a busy disk.
  // max_prepared_transactions > 0 so the prepared-transactions health check can be driven.
  cluster.settings = { max_prepared_transactions: '4', 'pg_stat_statements.max': PGSS_MAX, ...(kept ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }) };
  const status = await startLocal(cluster);
  return {
    adminUrl: await localUrl(cluster, 'postgres'),
    kind: 'embedded',
    logFile: existsSync(status.logFile) ? status.logFile : undefined,
    stop: async () => {
      // A kept cluster is shut down cleanly (if this run started it); a throwaway one is
      // stopped at once by the scratch teardown, without a shutdown checkpoint.
      if (kept && status.started) await stopLocal(cluster);
    },
  };
}

export async function startTestServer(scratchRoot: string): Promise<TestServer> {
  if (process.env.TEST_DATABASE_URL) {
    return { adminUrl: process.env.TEST_DATABASE_URL, kind: 'env', stop: async () => undefined };
  }
  return (await tryContainer()) ?? embedded(scratchRoot);
}
