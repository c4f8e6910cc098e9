import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Runs a PostgreSQL client program with an environment of its own (libpqEnv) and an
 * optional stdin stream, collecting its output. The abort signal kills it (SIGTERM),
 * so Ctrl-C of restore-verify never leaves a pg_restore writing into a database that
 * is about to be dropped.
 */
export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export async function runTool(path: string, args: string[], options: { env: NodeJS.ProcessEnv; stdin?: Readable; signal?: AbortSignal }): Promise<ToolResult> {
  const child = spawn(path, args, { env: options.env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 64_000) stderr += d; });
  const kill = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', kill, { once: true });
  let feedError: Error | undefined;
  const feeding = options.stdin
    ? pipeline(options.stdin, child.stdin!).catch((error: NodeJS.ErrnoException) => {
      // EPIPE: the program stopped reading (pg_restore --list reads only the header);
      // its exit status tells whether that was an error.
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') feedError = error;
      options.stdin!.destroy();
    })
    : Promise.resolve();
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    await feeding;
    if (feedError && code === 0) throw feedError;
    if (feedError) stderr += `\n${feedError.message}`;
    return { code, signal, stdout, stderr };
  } finally {
    options.signal?.removeEventListener('abort', kill);
  }
}

/** The last lines of a program's stderr, for an error message. */
export function tail(text: string, lines = 6): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
