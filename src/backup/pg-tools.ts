import { execFile } from 'node:child_process';
import { access, constants, readdir, realpath } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { preconditionError } from '../errors.js';

const run = promisify(execFile);

/**
 * Finds a PostgreSQL client program (pg_dump, pg_restore, pg_amcheck, psql) as DESIGN.md
 * says: on PATH, or under /usr/lib/postgresql/<major>/bin, newest major first; the first
 * whose major version is at least `minMajor` (the server's) wins. None is exit 4 naming
 * the Debian package to install.
 *
 * Debian's /usr/bin/pg_dump is postgresql-common's pg_wrapper, a Perl script that picks
 * a /usr/lib/postgresql/<major>/bin binary and execs it (about 80 ms per start here, and
 * it reports that binary's version). When the versioned binary of the same major is
 * there too, that one is used: the same program without the Perl start. The candidates
 * are probed at once (`--version`), not one after another.
 */
export type PgToolName = 'pg_dump' | 'pg_restore' | 'pg_amcheck' | 'psql' | 'pg_basebackup';

export interface PgTool {
  name: PgToolName;
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
}

interface Candidate {
  path: string;
  /** the path is Debian's pg_wrapper (a symlink to it, or it), which execs a versioned binary */
  wrapper: boolean;
}

async function isWrapper(path: string): Promise<boolean> {
  try {
    return basename(await realpath(path)) === 'pg_wrapper';
  } catch {
    return false;
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function candidates(name: string): Promise<Candidate[]> {
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
  const unique = [...new Set(found)];
  return Promise.all(unique.map(async (path) => ({ path, wrapper: await isWrapper(path) })));
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

/**
 * Every usable copy of the program, newest major first; within a major, the real
 * binaries in PATH order, then the pg_wrappers.
 */
export async function listPgTools(name: PgToolName): Promise<PgTool[]> {
  const found = await candidates(name);
  const versions = await Promise.all(found.map((c) => toolVersion(c.path)));
  const tools: (PgTool & { wrapper: boolean; order: number })[] = [];
  found.forEach((c, order) => {
    const version = versions[order];
    if (version) tools.push({ name, path: c.path, version, major: Number(version.split('.')[0]), wrapper: c.wrapper, order });
  });
  tools.sort((a, b) => b.major - a.major || Number(a.wrapper) - Number(b.wrapper) || a.order - b.order);
  return tools.map(({ name: n, path, version, major }) => ({ name: n, path, version, major }));
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
