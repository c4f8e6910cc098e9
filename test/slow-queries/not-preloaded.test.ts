import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/server.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { localCluster, localUrl, startLocal, stopLocal } from '../../src/local/cluster.js';

// A second, small cluster whose shared_preload_libraries lacks pg_stat_statements (a later
// -c overrides the local cluster's own), as on a server nobody configured for it.
describe('slow-queries on a server that does not preload pg_stat_statements', () => {
  it('exits 4 with the postgresql.conf line, keeping the libraries already preloaded', async () => {
    const cluster = localCluster(scratchDir(), join('.bookingdb', 'local'), await freePort(), () => undefined);
    cluster.settings = { shared_preload_libraries: 'plpgsql', fsync: 'off' };
    await startLocal(cluster);
    afterAll(async () => { await stopLocal(cluster); });
    const url = await localUrl(cluster, 'postgres');
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await sql`create schema ext`;
      await sql`create extension pg_stat_statements with schema ext`; // installs; reading it fails
      await expect(sql`select count(*) from ext.pg_stat_statements`).rejects.toMatchObject({ code: '55000' });
    } finally {
      await sql.end();
    }
    const r = await runCli(['slow-queries', '--database-url', url]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('pg_stat_statements is installed but not loaded');
    expect(r.stderr).toContain("shared_preload_libraries = 'plpgsql,pg_stat_statements'");
    expect(r.stderr).toContain('restart the server');
    expect(r.stderr + r.stdout).not.toContain(new URL(url).password);
  });
});
