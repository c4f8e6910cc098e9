#!/usr/bin/env node
// Measures the CLI numbers the README quotes: `bookingdb --help` wall time, a fresh
// deploy to an empty database and a no-op redeploy (cluster already running).
// Usage: node test/bench/cli-timings.mjs [runs]   (uses the local cluster of the cwd)
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/bookingdb.js', import.meta.url));
const runs = Number(process.argv[2] ?? 7);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const time = (args) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
};

execFileSync(process.execPath, [bin, 'local', 'start'], { stdio: 'ignore' });
const base = execFileSync(process.execPath, [bin, 'local', 'url'], { encoding: 'utf8' }).trim();
const help = [], fresh = [], noop = [];
for (let i = 0; i < runs; i++) {
  help.push(time(['--help']));
  const url = base.replace(/\/[^/]*$/, `/bench_deploy_${process.pid}_${i}`);
  fresh.push(time(['deploy', '--quiet', '--database-url', url]));
  noop.push(time(['deploy', '--quiet', '--database-url', url]));
}
// Clean up the scratch databases.
const admin = base.replace(/\/[^/]*$/, '/postgres');
const { default: postgres } = await import('postgres');
const sql = postgres(admin, { max: 1, onnotice: () => {} });
for (let i = 0; i < runs; i++) await sql.unsafe(`drop database if exists bench_deploy_${process.pid}_${i} with (force)`);
await sql.end();
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
console.log(`bookingdb --help         ${fmt(help)}`);
console.log(`fresh deploy (new db)    ${fmt(fresh)}`);
console.log(`no-op redeploy           ${fmt(noop)}`);
