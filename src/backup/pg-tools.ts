import { execFile } from 'node:child_process';
import { access, constants, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { preconditionError } from '../errors.js';

const run = promisify(execFile);

/**
 * Finds a PostgreSQL client program (pg_dump, pg_restore, pg_amcheck, psql) as DESIGN.md
 * says: on PATH, or under /usr/lib/postgresql/<major>/bin, newest major first; the first
 * whose major version is at least `minMajor` (the server's) wins. None is exit 4 naming
 * the Debian package to install.
 */
export type PgToolName = 'pg_dump' | 'pg_restore' | 'pg_amcheck' | 'psql' | 'pg_basebackup';

export interface PgTool {
  name: PgToolName;
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function candidates(name: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, name);
    if (await executable(path)) found.push(path);
  }
  try {
    const majors = (await readdir('/usr/lib/postgresql')).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const path = join('/usr/lib/postgresql', major, 'bin', name);
      if (await executable(path)) found.push(path);
    }
  } catch {
    // no /usr/lib/postgresql: PATH only
  }
  return [...new Set(found)];
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> "15.18" */
export function parseToolVersion(output: string): string | undefined {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}

export async function toolVersion(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    return parseToolVersion(stdout);
  } catch {
    return undefined;
  }
}

/** Every usable copy of the program, newest major first. */
export async function listPgTools(name: PgToolName): Promise<PgTool[]> {
  const tools: PgTool[] = [];
  for (const path of await candidates(name)) {
    const version = await toolVersion(path);
    if (version) tools.push({ name, path, version, major: Number(version.split('.')[0]) });
  }
  return tools.sort((a, b) => b.major - a.major);
}

export async function findPgTool(name: PgToolName, minMajor: number): Promise<PgTool> {
  const tools = await listPgTools(name);
  const tool = tools.find((t) => t.major >= minMajor);
  if (tool) return tool;
  const have = tools.length > 0 ? `found only ${tools.map((t) => `${t.path} (${t.version})`).join(', ')}` : 'none on PATH or under /usr/lib/postgresql/*/bin';
  throw preconditionError(
    'pg_tool_missing',
    `${name} ${minMajor} or newer is needed for a PostgreSQL ${minMajor} server: ${have}`,
    `install postgresql-client-${minMajor} (apt-get install -y postgresql-client-${minMajor}) or put its bin directory on PATH`,
  );
}
