import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createLogin, createTenant, futureDate, type TenantFixture } from './helpers.js';

// pg_dump under FORCE ROW LEVEL SECURITY: pg_dump sets row_security = off, so a role
// subject to a policy gets an error instead of a silently partial dump. A LOGIN member
// of bookingdb_backup (pg_read_all_data + BYPASSRLS) must dump every tenant's rows.
const run = promisify(execFile);
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 2);

/** The newest pg_dump on PATH or under /usr/lib/postgresql/<major>/bin that is >= the server. */
async function findPgDump(serverMajor: number): Promise<string> {
  const candidates = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => join(d, 'pg_dump')),
    ...(existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin/pg_dump')) : []),
  ].filter((p) => existsSync(p));
  let best: { path: string; major: number } | undefined;
  for (const path of candidates) {
    const { stdout } = await run(path, ['--version']).catch(() => ({ stdout: '' }));
    const major = Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1] ?? 0);
    if (major >= serverMajor && (!best || major > best.major)) best = { path, major };
  }
  if (!best) {
    throw new Error(`no pg_dump >= ${serverMajor} found on PATH or under /usr/lib/postgresql/*/bin: install postgresql-client-${serverMajor} (apt-get install postgresql-client-${serverMajor})`);
  }
  return best.path;
}

/** Runs pg_dump as the login in `url` (password through PGPASSWORD, not argv). */
async function pgDump(pgDumpPath: string, url: string, args: string[]) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const env = { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' };
  return run(pgDumpPath, [`--dbname=${u.toString()}`, ...args], { env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }))
    .catch((e: { code?: number; stdout?: string; stderr?: string }) => ({ code: Number(e.code ?? -1), stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
}

/** The data lines of each COPY block of a plain dump, by table. */
function copyBlocks(dump: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  const re = /^COPY ([^\s(]+) \([^)]*\) FROM stdin;\n([\s\S]*?)^\\\.$/gm;
  for (const m of dump.matchAll(re)) blocks.set(m[1].replace(/"/g, ''), m[2].split('\n').filter(Boolean));
  return blocks;
}

let pgDumpPath: string;
let A: TenantFixture;
let B: TenantFixture;
let tenantTables: Array<{ name: string; parent: string }>;

beforeAll(async () => {
  const [{ v }] = await db.sql`select current_setting('server_version_num')::int / 10000 as v`;
  pgDumpPath = await findPgDump(v);
  const day = futureDate(6);
  A = await createTenant(db.sql);
  B = await createTenant(db.sql);
  for (const fx of [A, B]) {
    const api = bookingApi(app, fx.tenantId);
    await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(day, '10:00', '+05:30') });
  }
  tenantTables = (await db.sql`
    select format('%I.%I', n.nspname, c.relname) as name,
           coalesce((select format('%I.%I', pn.nspname, pc.relname) from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                      join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid), format('%I.%I', n.nspname, c.relname)) as parent
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('booking', 'ops') and c.relkind = 'r'
       and (c.oid = 'booking.tenants'::regclass
            or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
     order by 1`) as unknown as Array<{ name: string; parent: string }>;
});

describe('pg_dump under FORCE row level security', () => {
  it('the database really forces RLS on every tenant table', async () => {
    const notForced = await db.sql`select c.oid::regclass::text as t from pg_class c
      where c.oid::regclass::text = any(${[...new Set(tenantTables.map((t) => t.parent))]}) and not (c.relrowsecurity and c.relforcerowsecurity)`;
    expect(notForced.map((r) => r.t)).toEqual([]);
  });

  it('a LOGIN member of bookingdb_backup (made like `roles create backup`) dumps every tenant\'s rows', async () => {
    const backup = await createLogin(db, 'backup');
    const r = await pgDump(pgDumpPath, backup.url, ['--format=plain', '--no-owner']);
    expect(r.code, `pg_dump as ${backup.name} failed: ${r.stderr}`).toBe(0);
    const blocks = copyBlocks(r.stdout);
    const missing: string[] = [];
    // every parent table with rows of a tenant has them in some COPY block of it or its partitions
    for (const parent of [...new Set(tenantTables.map((t) => t.parent))]) {
      const lines = tenantTables.filter((t) => t.parent === parent).flatMap((t) => blocks.get(t.name) ?? []);
      for (const fx of [A, B]) {
        const [{ n }] = await db.sql.unsafe(`select count(*)::int as n from ${parent} where ${parent === 'booking.tenants' ? 'id' : 'tenant_id'} = $1`, [fx.tenantId]);
        const dumped = lines.filter((l) => l.includes(fx.tenantId)).length;
        if (dumped !== n) missing.push(`${parent}: ${dumped} of ${n} rows of ${fx.slug} in the dump`);
      }
    }
    expect(missing).toEqual([]);
    expect(r.stdout).toContain(`Customer 0 of ${B.slug}`);
  });

  it('an app login cannot dump the tenant tables: FORCE RLS stops pg_dump instead of dumping part of them', async () => {
    const login = await createLogin(db, 'app');
    const r = await pgDump(pgDumpPath, login.url, ['--format=plain', '--data-only', '--table=booking.bookings']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/row-level security/);
    expect(r.stdout).not.toContain(B.tenantId);
  });
});
