import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs the built CLI (bin/bookingdb.js -> dist/) as a user would, in a scratch
 * working directory so it never touches the developer's local cluster.
 */
export const repoRoot = new URL('../../', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bookingdb-cli-'));
  chmodSync(dir, 0o755); // like a normal project directory (mkdtemp makes it 0700)
  return dir;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; bin?: string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  for (const k of ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE']) {
    if (!options.env || !(k in options.env)) delete env[k];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? join(repoRoot, 'bin/bookingdb.js'), ...args], {
      cwd: options.cwd ?? scratchDir(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 137 : -1), stdout, stderr });
    });
  });
}

/**
 * A copy of the built package (bin, dist, sql, migrations; node_modules linked) whose
 * SQL files a test may edit without touching the repository.
 */
export async function copyPackage(): Promise<{ dir: string; bin: string }> {
  const { cpSync, symlinkSync, mkdtempSync: mk } = await import('node:fs');
  const dir = mk(join(tmpdir(), 'bookingdb-pkg-'));
  for (const part of ['bin', 'dist', 'sql', 'migrations', 'package.json']) {
    cpSync(join(repoRoot, part), join(dir, part), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return { dir, bin: join(dir, 'bin/bookingdb.js') };
}
