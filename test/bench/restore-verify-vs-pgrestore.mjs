#!/usr/bin/env node
// In one run, on the same server: `bookingdb restore-verify` (checksums, restore into a
// scratch database, exact counts, sql/verify, booking checks, migrations, amcheck, drop)
// against a plain `createdb` + `pg_restore` of the same custom-format backup into a new database
// (pg_restore's defaults: one job, the server's maintenance_work_mem). Rounds alternate
// plain / custom / directory so a busy machine hurts each alike; medians and ratios.
//
//   node test/bench/restore-verify-vs-pgrestore.mjs DATABASE_URL [--runs 3] [--jobs 2] [--dir /tmp/bk-restore/backups] [--compare-overlap] [--custom-only] [--keep-backups]
//
// The plain baseline is what an operator types: createdb + pg_restore -d (both timed).
// --compare-overlap adds a restore-verify --overlap round (counts and amcheck of each table
// during the restore, as soon as pg_restore has finished the table).
//
// The backups are made by `bookingdb backup` (custom, and directory with --jobs JOBS), as
// operators make them; the plain baseline restores the same custom archive. Needs
// pg_dump/pg_restore 15+ and a built dist/.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { manifestSchema } from '../../dist/backup/manifest.js';
import { findPgTool } from '../../dist/backup/pg-tools.js';

const url = process.argv[2];
if (!url) { console.error('usage: restore-verify-vs-pgrestore.mjs DATABASE_URL [--runs N] [--jobs N] [--dir DIR]'); process.exit(2); }
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('--runs', 3));
const jobs = Number(arg('--jobs', 2));
const root = arg('--dir', '/tmp/bk-restore/backups');
const bin = fileURLToPath(new URL('../../bin/bookingdb.js', import.meta.url));
const u = new URL(url);
const db = decodeURIComponent(u.pathname.slice(1));
const env = { ...process.env, PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), NO_COLOR: '1' };
const pgRestore = await findPgTool('pg_restore', 15);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/**
 * A backup as operators make them: `bookingdb backup` (a custom archive streamed from
 * pg_dump's stdout through the hash, so it carries no data offsets: pg_restore -j then
 * schedules by dump order, not by table size), in its own directory under root.
 */
async function makeBackup(format) {
  const dir = join(root, format);
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, 'backup', '--database-url', url, '--dir', dir, '--format', format, ...(format === 'directory' ? ['--jobs', String(jobs)] : []), '--no-prune', '--json'],
    { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bookingdb backup exit ${r.status}: ${r.stderr}`);
  const receipt = JSON.parse(r.stdout);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(receipt.path, 'manifest.json'), 'utf8')));
  console.log(`backup ${receipt.id} (${format}): ${(manifest.bytes / 1e6).toFixed(1)} MB, ${manifest.rows} rows, ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { id: receipt.id, dir, path: receipt.path, manifest };
}

async function plainRestore(b) {
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  const name = `${db}_plain_${randomBytes(3).toString('hex')}`;
  const t = performance.now(); // what an operator types: createdb (this CREATE DATABASE) + pg_restore -d
  await admin.unsafe(`create database "${name}" template template0`);
  const r = spawnSync(pgRestore.path, ['-d', name, join(b.path, 'dump.pgdump')], { env, encoding: 'utf8' });
  const ms = performance.now() - t;
  await admin.unsafe(`drop database "${name}" with (force)`);
  await admin.end();
  if (r.status !== 0) throw new Error(`pg_restore: ${r.stderr}`);
  return { ms };
}

function restoreVerify(b, extra = []) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, 'restore-verify', '--dir', b.dir, '--backup', b.id, '--jobs', String(jobs), '--json', '--database-url', url, ...extra], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`restore-verify exit ${r.status}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout);
  // durationMs of counts and amcheck is what they took after the restore; duringRestoreMs what they did while it ran
  const during = Object.fromEntries(doc.verdict.steps.filter((s) => s.detail?.duringRestoreMs).map((s) => [s.name, s.detail.duringRestoreMs]));
  return { ms: wall, totalMs: doc.verdict.totalMs, steps: Object.fromEntries(doc.verdict.steps.map((s) => [s.name, s.durationMs])), during };
}

mkdirSync(root, { recursive: true });
const custom = await makeBackup('custom');
const withDirectory = !process.argv.includes('--custom-only');
const directory = withDirectory ? await makeBackup('directory') : null;
const compareOverlap = process.argv.includes('--compare-overlap');
const results = { plain: [], custom: [], ...(withDirectory ? { directory: [] } : {}), ...(compareOverlap ? { overlap: [] } : {}) };
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
for (let i = 0; i < runs; i++) {
  results.plain.push(await plainRestore(custom));
  console.log(`round ${i + 1}: plain pg_restore ${(results.plain.at(-1).ms / 1000).toFixed(1)} s (load ${load()})`);
  results.custom.push(restoreVerify(custom));
  console.log(`round ${i + 1}: restore-verify custom ${(results.custom.at(-1).ms / 1000).toFixed(1)} s ${JSON.stringify(results.custom.at(-1).steps)} during restore ${JSON.stringify(results.custom.at(-1).during)} (load ${load()})`);
  if (compareOverlap) {
    // the same verification with the counts and amcheck started during the restore (--overlap)
    results.overlap.push(restoreVerify(custom, ['--overlap']));
    console.log(`round ${i + 1}: restore-verify custom --overlap ${(results.overlap.at(-1).ms / 1000).toFixed(1)} s ${JSON.stringify(results.overlap.at(-1).steps)} during restore ${JSON.stringify(results.overlap.at(-1).during)} (load ${load()})`);
  }
  if (!withDirectory) continue;
  results.directory.push(restoreVerify(directory));
  console.log(`round ${i + 1}: restore-verify directory ${(results.directory.at(-1).ms / 1000).toFixed(1)} s ${JSON.stringify(results.directory.at(-1).steps)} during restore ${JSON.stringify(results.directory.at(-1).during)} (load ${load()})`);
}
const plain = median(results.plain.map((r) => r.ms));
console.log(`\nmedians of ${runs} rounds (jobs ${jobs}):`);
console.log(`  plain createdb + pg_restore (custom, 1 job):  ${(plain / 1000).toFixed(1)} s`);
for (const k of Object.keys(results).filter((x) => x !== 'plain')) {
  const wall = median(results[k].map((r) => r.ms));
  const steps = Object.keys(results[k][0].steps).map((s) => `${s} ${(median(results[k].map((r) => r.steps[s])) / 1000).toFixed(1)}`).join(', ');
  console.log(`  restore-verify ${k.padEnd(9)}: ${(wall / 1000).toFixed(1)} s wall (verdict total ${(median(results[k].map((r) => r.totalMs)) / 1000).toFixed(1)} s) = ${(wall / plain).toFixed(2)}x plain; steps (s): ${steps}`);
}
if (!process.argv.includes('--keep-backups')) { rmSync(custom.dir, { recursive: true }); if (directory) rmSync(directory.dir, { recursive: true }); }
