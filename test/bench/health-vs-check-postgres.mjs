#!/usr/bin/env node
// Side by side, in one run, on the same server: `bookingdb health-check` (every check,
// one process) against check_postgres running ten of its actions one process each, as
// Nagios would. Medians of N rounds (default 5), the slowest bookingdb check, and what
// each tool says about bloat (check_postgres reads the fresh GiST exclusion index as bloated).
//
//   node test/bench/health-vs-check-postgres.mjs DATABASE_URL [--runs 5]
//
// Needs check_postgres (Debian: apt-get install -y check-postgres) and a built dist/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const url = process.argv[2];
if (!url) { console.error('usage: health-vs-check-postgres.mjs DATABASE_URL [--runs N]'); process.exit(2); }
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const bin = fileURLToPath(new URL('../../bin/bookingdb.js', import.meta.url));
const u = new URL(url);
const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password), NO_COLOR: '1' };
const conn = ['-H', u.hostname, '-p', u.port || '5432', '-u', decodeURIComponent(u.username), '-db', u.pathname.slice(1)];
const ACTIONS = [
  ['backends'], ['txn_time', '-w', '5 minutes', '-c', '30 minutes'], ['txn_idle', '-w', '1 minute', '-c', '5 minutes'],
  ['locks'], ['hitratio', '-w', '95%', '-c', '90%'], ['txn_wraparound'], ['autovac_freeze'], ['sequence'],
  ['bloat'], ['last_vacuum', '-w', '3d', '-c', '7d'],
];

function timed(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const help = [];
const ours = [];
const theirs = [];
const perCheck = new Map();
let lastOurs;
const lastTheirs = {};
for (let i = 0; i < runs; i++) {
  help.push(timed(process.execPath, [bin, '--help']).ms);
  const r = timed(process.execPath, [bin, 'health-check', '--database-url', url, '--format', 'json']);
  ours.push(r.ms);
  lastOurs = JSON.parse(r.stdout);
  for (const c of lastOurs.checks) perCheck.set(c.name, [...(perCheck.get(c.name) ?? []), c.durationMs]);
  let total = 0;
  for (const [action, ...extra] of ACTIONS) {
    const a = timed('check_postgres', ['--action', action, ...conn, ...extra]);
    total += a.ms;
    lastTheirs[action] = a.stdout.split('\n')[0].slice(0, 160);
  }
  theirs.push(total);
}
const slowest = [...perCheck].map(([name, ms]) => [name, median(ms)]).sort((a, b) => b[1] - a[1]).slice(0, 5);
const m1 = median(ours);
const m2 = median(theirs);
console.log(`rounds: ${runs}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`bookingdb health-check (${lastOurs.checks.length} checks, one process): median ${m1.toFixed(0)} ms wall (runner ${lastOurs.durationMs} ms in the last round)`);
console.log(`(bookingdb --help, process start only:            median ${median(help).toFixed(0)} ms wall)`);
console.log(`check_postgres, 10 actions, one process each:      median ${m2.toFixed(0)} ms wall`);
console.log(`ratio bookingdb / check_postgres: ${(m1 / m2).toFixed(2)}`);
console.log('slowest bookingdb checks (median ms):', slowest.map(([n, ms]) => `${n} ${ms}`).join(', '));
const bloat = lastOurs.checks.filter((c) => /bloat/.test(c.name)).map((c) => `${c.name}: ${c.value ?? '-'} (${c.detail})`);
console.log('bookingdb bloat:', bloat.join(' | '));
console.log('check_postgres bloat:', lastTheirs.bloat);
console.log('bookingdb status:', lastOurs.status, JSON.stringify(lastOurs.counts));
