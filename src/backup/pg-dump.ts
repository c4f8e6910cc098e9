import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { libpqEnv } from '../db/libpq-env.js';
import { redactSecrets, type ConnectionTarget } from '../db/url.js';

/**
 * Runs pg_dump against the same target bookingdb is connected to. The password never
 * reaches pg_dump's command line (ps shows argv to every user): the connection travels in
 * the libpq environment (src/db/libpq-env.ts, shared with pg_restore and pg_amcheck), and
 * the password (from the URL, the service file, PGPASSWORD or the
 * password file, as bookingdb's own connection found it) goes in PGPASSWORD, which only
 * the same OS user (and root) can read in /proc/<pid>/environ. --no-password: pg_dump
 * never waits for a prompt.
 */
export interface PgDumpInvocation {
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** pg_dump's connection: everything in the libpq environment (password in PGPASSWORD), nothing secret in argv. */
export function pgDumpConnection(target: ConnectionTarget, connectTimeoutSeconds: number): PgDumpInvocation {
  const env = libpqEnv(target, target.database, '', 'bookingdb-backup');
  env.PGCONNECT_TIMEOUT ??= String(connectTimeoutSeconds);
  return { args: ['--no-password'], env };
}

export interface PgDumpRun {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when pg_dump exits: its exit code (or the signal) and its stderr lines, redacted. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string[] }>;
}

/** Starts pg_dump; stdout is the archive (custom format) or nothing (directory format). */
export function startPgDump(path: string, invocation: PgDumpInvocation, extraArgs: string[]): PgDumpRun {
  const child = spawn(path, [...invocation.args, ...extraArgs], { env: invocation.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (err.length < 64_000) err += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string[] }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, stderr: redactSecrets(err).split('\n').map((l) => l.trimEnd()).filter(Boolean) });
    });
  });
  done.catch(() => undefined);
  return { child, done };
}
