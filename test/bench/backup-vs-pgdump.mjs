#!/usr/bin/env node
// `bookingdb backup` wall time against a plain `pg_dump -Fc` of the same database, with
// and without age encryption, alternating in one run (the order rotates every round, so
// a noisy neighbour hits every variant alike). Prints each run, the medians and the ratios.
//
//   node test/bench/backup-vs-pgdump.mjs --database-url URL [--rounds 5] [--dir /tmp/bk-bench]
//
// The URL should name a database seeded with `bookingdb seed demo ... --bookings 1000000`.
// Needs `npm run build` first (it runs bin/bookingdb.js) and pg_dump >= the server's major.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, rounds: { type: 'string', default: '5' }, dir: { type: 'string', default: '/tmp/bk-bench' } } });
const url = values['database-url'];
if (!url) {
  console.error('usage: node test/bench/backup-vs-pgdump.mjs --database-url URL [--rounds 5] [--dir DIR]');
  process.exit(2);
}
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/bookingdb.js');
const rounds = Number(values.rounds);
const dir = values.dir;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// the same pg_dump bookingdb picks (newest major on PATH / /usr/lib/postgresql), so both run the same binary
const { findPgTool } = await import(join(root, 'dist/backup/pg-tools.js'));
const u = new URL(url);
const password = decodeURIComponent(u.password);
u.password = '';
const major = Number(execFileSync('psql', [url, '-Atc', 'show server_version_num']).toString().trim()) / 10000 | 0;
const pgDump = (await findPgTool('pg_dump', major)).path;
const recipient = await identityToRecipient(await generateX25519Identity());

function time(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exit ${code}: ${err}`));
      else resolve({ s, out });
    });
  });
}

const size = (path) => {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, n) => s + size(join(path, n)), 0) : st.size;
};

const variants = {
  'pg_dump -Fc': async (i) => {
    const file = join(dir, `plain-${i}.pgdump`);
    const r = await time(pgDump, ['-Fc', `--dbname=${u}`, '-f', file], { PGPASSWORD: password });
    const bytes = size(file);
    rmSync(file);
    return { ...r, bytes };
  },
  'bookingdb backup': async (i) => {
    const d = join(dir, `bk-${i}`);
    const r = await time('node', [bin, 'backup', '--database-url', url, '--dir', d, '--no-prune', '--json']);
    const receipt = JSON.parse(r.out);
    rmSync(d, { recursive: true, force: true });
    return { ...r, bytes: receipt.bytes, rows: receipt.rows };
  },
  'bookingdb backup --encrypt-to': async (i) => {
    const d = join(dir, `enc-${i}`);
    const r = await time('node', [bin, 'backup', '--database-url', url, '--dir', d, '--no-prune', '--json', '--encrypt-to', recipient]);
    const receipt = JSON.parse(r.out);
    rmSync(d, { recursive: true, force: true });
    return { ...r, bytes: receipt.bytes, rows: receipt.rows };
  },
};

const names = Object.keys(variants);
const results = Object.fromEntries(names.map((n) => [n, []]));
await variants['pg_dump -Fc']('warm'); // warm the cache once; not counted
for (let round = 0; round < rounds; round++) {
  const order = names.map((_, k) => names[(k + round) % names.length]);
  for (const name of order) {
    const r = await variants[name](round);
    results[name].push(r.s);
    console.log(`round ${round + 1} ${name.padEnd(30)} ${r.s.toFixed(2)} s  ${(r.bytes / 1048576).toFixed(1)} MiB${r.rows ? `  ${r.rows} rows counted` : ''}`);
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const base = median(results['pg_dump -Fc']);
console.log(`\npg_dump ${pgDump}; ${rounds} rounds, alternating; medians:`);
for (const name of names) {
  console.log(`  ${name.padEnd(30)} ${median(results[name]).toFixed(2)} s   ratio ${(median(results[name]) / base).toFixed(3)}`);
}
rmSync(dir, { recursive: true, force: true });
