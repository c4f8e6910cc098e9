import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { ServerUser } from './os-user.js';

/**
 * The postmaster of the local cluster, run without pg_ctl: pg_ctl builds a /bin/sh
 * command line from the data directory, log path and options, so a path could run
 * commands. bookingdb spawns `postgres -D DATA ...` itself with an argument vector,
 * detached, stdout/stderr appended to the log; it is "running" only while its pid (from
 * postmaster.pid) is a live postgres process of the server user AND the port answers the
 * PostgreSQL protocol; stopping signals that pid and waits for it to go.
 */
export interface PidFile {
  pid: number;
  port: number;
  /** starting | ready | stopping | standby (line 8), when written yet. */
  state?: string;
}

export function readPidFile(dataDir: string): PidFile | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return { pid, port: Number.isInteger(port) ? port : 0, state: lines[7]?.trim() || undefined };
}

/**
 * True when pid is a live process (not a zombie: after kill -9 an unreaped postmaster
 * still answers kill(pid, 0)) owned by the server user, so that a pid planted in
 * postmaster.pid never makes root signal another process.
 */
export function isLivePostmaster(pid: number, user: ServerUser): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const owner = statSync(`/proc/${pid}`).uid;
    return owner === (user.uid ?? process.getuid?.());
  } catch {
    return false;
  }
}

/**
 * True when a PostgreSQL server answers on 127.0.0.1:port: it replies to an SSLRequest
 * with 'S' or 'N' (an HTTP server or a closed port does not). Bounded by timeoutMs.
 */
export function answersPostgres(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => { clearTimeout(timer); socket.destroy(); resolvePromise(ok); };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => {
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80877103, 4);
      socket.write(request);
    });
    socket.once('data', (d) => done(d.length >= 1 && (d[0] === 0x53 || d[0] === 0x4e)));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolvePromise(true); });
    socket.once('error', () => resolvePromise(false));
  });
}

/** A minimal environment for PostgreSQL's programs: nothing of the caller's PG* or secrets. */
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env;
}

/**
 * Removes a postmaster.pid whose pid is not a live postmaster of ours (kill -9, a crash,
 * a reboot, pid reuse): PostgreSQL itself refuses to start when the pid is reused or a
 * zombie. Returns true when it removed one.
 */
export function clearStalePidFile(dataDir: string, user: ServerUser): boolean {
  const pf = readPidFile(dataDir);
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return false;
  if (pf && isLivePostmaster(pf.pid, user)) return false;
  rmSync(join(dataDir, 'postmaster.pid'), { force: true });
  return true;
}

export interface SpawnResult {
  ok: boolean;
  /** Why it did not come up: the spawn error, the exit, or a timeout (the log says more). */
  reason?: string;
}

/**
 * Starts `postgres` detached and waits until its pid file says ready and the port answers.
 * A failure returns the reason; callers add the log's tail.
 */
export async function spawnPostmaster(bin: string, dataDir: string, port: number, logFile: string, user: ServerUser, extra: string[] = [], timeoutMs = 60_000): Promise<SpawnResult> {
  const args = ['-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'password_encryption=scram-sha-256',
    '-c', 'max_connections=200', ...extra];
  const fd = openSync(logFile, 'a', 0o600);
  let exited: string | undefined;
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], uid: user.uid, gid: user.gid, env: serverEnv() });
    child.once('error', (error) => { exited = `could not run ${bin}: ${error.message}`; });
    child.once('exit', (code, signal) => { exited = `postgres exited (${signal ?? `code ${code}`})`; });
    child.unref();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) return { ok: false, reason: exited };
      const pf = readPidFile(dataDir);
      if (pf && pf.pid === child.pid && pf.state === 'ready' && (await answersPostgres(port))) return { ok: true };
      await new Promise((r) => setTimeout(r, 25));
    }
    return { ok: false, reason: exited ?? `postgres did not answer on port ${port} within ${timeoutMs / 1000} s` };
  } finally {
    closeSync(fd);
  }
}

/** Fast shutdown (SIGINT) of pid; waits until it is gone. Returns false on timeout. */
export async function stopPostmaster(pid: number, user: ServerUser, timeoutMs = 60_000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return true; // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isLivePostmaster(pid, user)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** The last lines of the server log from byte `from` on (the server's own words on why it failed). */
export async function logTail(logFile: string, lines = 8, from = 0): Promise<string> {
  const text = (await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The size of the log now, so that a failure can quote only what this start wrote. */
export function logSize(logFile: string): number {
  try {
    return statSync(logFile).size;
  } catch {
    return 0;
  }
}

/** Log lines without their "2026-12-01 20:17:27.218 GMT [25395] " prefix, joined on one line. */
export function summariseLog(tail: string, lines = 2): string {
  return tail.split('\n').filter(Boolean).slice(-lines)
    .map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] /, '').replace(/\s+/g, ' ').trim())
    .join(' / ');
}
