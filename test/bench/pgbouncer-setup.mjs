#!/usr/bin/env node
// Starts a real PgBouncer (Debian's /usr/sbin/pgbouncer) in transaction mode in front of a
// PostgreSQL, for measuring `bookingdb bench --no-prepare` through it. Loopback only.
//
//   node test/bench/pgbouncer-setup.mjs --database-url "$(node bin/bookingdb.js local url --database bench)" \
//        [--port 55675] [--pool-size 5] [--dir /tmp/bk-pool-bouncer]
//
// It writes pgbouncer.ini and userlist.txt (mode 0600: the password of the URL's user,
// for SCRAM to the client and to the server) into --dir, writes the pooled URL (with
// the password) to <dir>/pooled-url (0600), prints only its redacted form, and runs
// PgBouncer in the foreground until Ctrl-C / SIGTERM, then removes --dir. As root it
// runs PgBouncer as the OS user postgres (PgBouncer refuses root).
// The pool: default_pool_size (default 2 x cores + 1), max_client_conn 1000;
// ignore_startup_parameters lists search_path, which bookingdb's connect() sends and
// PgBouncer 1.18 otherwise refuses (08P01 "unsupported startup parameter").
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    port: { type: 'string', default: '55675' },
    'pool-size': { type: 'string', default: String(2 * cpus().length + 1) },
    dir: { type: 'string', default: '/tmp/bk-pool-bouncer' },
  },
});
if (!values['database-url']) {
  console.error('usage: node test/bench/pgbouncer-setup.mjs --database-url URL [--port N] [--pool-size N] [--dir DIR]');
  process.exit(2);
}
const bin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));
if (!bin) {
  console.error('error: pgbouncer is not installed\nhint: apt-get install -y pgbouncer');
  process.exit(4);
}
const u = new URL(values['database-url']);
const user = decodeURIComponent(u.username);
const password = decodeURIComponent(u.password);
const database = decodeURIComponent(u.pathname.slice(1));
const port = Number(values.port);
const dir = values.dir;
mkdirSync(dir, { recursive: true, mode: 0o700 });
const q = (s) => `"${s.replace(/"/g, '""')}"`;
writeFileSync(join(dir, 'userlist.txt'), `${q(user)} ${q(password)}\n`, { mode: 0o600 });
writeFileSync(join(dir, 'pgbouncer.ini'), `[databases]
* = host=${u.hostname} port=${u.port || 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = transaction
default_pool_size = ${Number(values['pool-size'])}
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits, search_path
logfile = ${join(dir, 'pgbouncer.log')}
`, { mode: 0o600 });
const pooled = new URL(u);
pooled.hostname = '127.0.0.1';
pooled.port = String(port);
writeFileSync(join(dir, 'pooled-url'), `${pooled}\n`, { mode: 0o600 });
const args = [];
if (userInfo().uid === 0) {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  for (const f of [dir, join(dir, 'userlist.txt'), join(dir, 'pgbouncer.ini'), join(dir, 'pooled-url')]) chownSync(f, uid, gid);
  args.push('-u', 'postgres');
}
chmodSync(dir, 0o700);
const redacted = new URL(pooled);
if (redacted.password) redacted.password = '***';
const child = spawn(bin, [...args, join(dir, 'pgbouncer.ini')], { stdio: 'inherit' });
console.error(`pgbouncer ${bin} (transaction mode, pool ${values['pool-size']}) on 127.0.0.1:${port} in front of ${u.hostname}:${u.port || 5432}, database ${database}`);
console.error(`pooled URL: ${redacted} (with its password in ${join(dir, 'pooled-url')}); Ctrl-C stops it`);
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(code ?? 0);
});
