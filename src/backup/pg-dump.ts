import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { lookupPgpass } from '../db/pgpass.js';
import { formatDatabaseUrl, redactSecrets, type ConnectionTarget } from '../db/url.js';

/**
 * Runs pg_dump against the same target bookingdb is connected to. The password never
 * reaches pg_dump's command line (ps shows argv to every user): --dbname carries a URL
 * without it, and the password (from the URL, the service file, PGPASSWORD or the
 * password file, as bookingdb's own connection found it) goes in PGPASSWORD, which only
 * the same OS user (and root) can read in /proc/<pid>/environ. --no-password: pg_dump
 * never waits for a prompt.
 */
export interface PgDumpInvocation {
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** pg_dump's connection: the target as a URL without the password, plus its environment. */
export function pgDumpConnection(target: ConnectionTarget, connectTimeoutSeconds: number, env: NodeJS.ProcessEnv = process.env): PgDumpInvocation {
  const password = target.password ?? lookupPgpass({ host: target.host, port: target.port, database: target.database, user: target.user }, env, () => undefined, target.params.passfile);
  const params = { ...target.params, sslmode: target.sslmode, application_name: target.params.application_name || 'bookingdb-backup' };
  const url = formatDatabaseUrl({ ...target, password: undefined, params });
  const childEnv: NodeJS.ProcessEnv = { ...env, PGCONNECT_TIMEOUT: String(target.params.connect_timeout ?? connectTimeoutSeconds) };
  delete childEnv.PGPASSWORD;
  if (password !== undefined && password !== '') childEnv.PGPASSWORD = password;
  return { args: [`--dbname=${url}`, '--no-password'], env: childEnv };
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
