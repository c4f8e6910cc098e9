import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';

/**
 * Where the test PostgreSQL comes from: TEST_DATABASE_URL, else a Testcontainers
 * PostgreSQL when a container runtime answers, else the bundled embedded PostgreSQL
 * (a cluster of its own in .bookingdb/test-cluster, not the developer's local one).
 */
export interface TestServer {
  adminUrl: string;
  kind: 'env' | 'container' | 'embedded';
  /** The server log, when this process can read it (embedded only). */
  logFile?: string;
  stop(): Promise<void>;
}

const repoRoot = new URL('../../', import.meta.url).pathname;

async function tryContainer(): Promise<TestServer | undefined> {
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15')
      .withCommand(['postgres', '-c', 'shared_preload_libraries=pg_stat_statements'])
      .start();
    return { adminUrl: container.getConnectionUri(), kind: 'container', stop: async () => { await container.stop(); } };
  } catch {
    return undefined; // "Could not find a working container runtime strategy": fall back
  }
}

async function embedded(): Promise<TestServer> {
  const { localCluster, startLocal, stopLocal, localUrl } = await import('../../src/local/cluster.js');
  const port = Number(process.env.BOOKINGDB_TEST_PORT ?? 54339);
  // Under /tmp rather than the checkout: as root the server runs as user postgres,
  // which may not be able to traverse the directories above a clone (e.g. /root).
  const dir = process.env.BOOKINGDB_TEST_CLUSTER_DIR ?? join(tmpdir(), `bookingdb-test-cluster-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`);
  const cluster = localCluster(repoRoot, dir, port);
  const status = await startLocal(cluster);
  return {
    adminUrl: await localUrl(cluster, 'postgres'),
    kind: 'embedded',
    logFile: existsSync(join(cluster.dir, 'server.log')) ? join(cluster.dir, 'server.log') : undefined,
    stop: async () => {
      if (status.started) await stopLocal(cluster);
    },
  };
}

export async function startTestServer(): Promise<TestServer> {
  if (process.env.TEST_DATABASE_URL) {
    return { adminUrl: process.env.TEST_DATABASE_URL, kind: 'env', stop: async () => undefined };
  }
  return (await tryContainer()) ?? embedded();
}
