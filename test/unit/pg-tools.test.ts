import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPgTool, listPgTools } from '../../src/backup/pg-tools.js';
import { BookingDbError, ExitCode } from '../../src/errors.js';

/**
 * pg_dump discovery (DESIGN.md): PATH, then /usr/lib/postgresql/<major>/bin, newest major
 * first, the first at least the server's major; none is exit 4 naming the package. Fake
 * programs that print a version stand in for the real ones, in PATH entries of their own.
 */
const root = mkdtempSync(join(tmpdir(), 'bookingdb-pgtools-'));
const savedPath = process.env.PATH;

function fakeTool(dir: string, name: string, version: string, as = name): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, as);
  writeFileSync(path, `#!/bin/sh\necho "${name} (PostgreSQL) ${version} (fake)"\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  // Debian's layout: a pg_dump on PATH that is a symlink to postgresql-common's pg_wrapper
  const wrapper = fakeTool(join(root, 'share'), 'pg_dump', '77.2', 'pg_wrapper');
  mkdirSync(join(root, 'wrapped'), { recursive: true });
  symlinkSync(wrapper, join(root, 'wrapped', 'pg_dump'));
  fakeTool(join(root, 'real'), 'pg_dump', '77.2');
  fakeTool(join(root, 'old'), 'pg_dump', '12.9');
});
afterEach(() => { process.env.PATH = savedPath; });
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('finding pg_dump', () => {
  it('takes the real binary over Debian\'s pg_wrapper of the same major, even when the wrapper comes first on PATH', async () => {
    process.env.PATH = [join(root, 'wrapped'), join(root, 'real')].join(':');
    const tool = await findPgTool('pg_dump', 77);
    expect(tool).toMatchObject({ path: join(root, 'real', 'pg_dump'), version: '77.2', major: 77 });
    const all = (await listPgTools('pg_dump')).filter((t) => t.path.startsWith(root)).map((t) => t.path);
    expect(all).toEqual([join(root, 'real', 'pg_dump'), join(root, 'wrapped', 'pg_dump')]);
  });

  it('uses the wrapper when it is the only program of that major', async () => {
    process.env.PATH = join(root, 'wrapped');
    expect((await findPgTool('pg_dump', 77)).path).toBe(join(root, 'wrapped', 'pg_dump'));
  });

  it('a newer major beats PATH order; one older than the server is exit 4 naming what was found and the package', async () => {
    process.env.PATH = [join(root, 'old'), join(root, 'real')].join(':');
    expect((await findPgTool('pg_dump', 15)).path).toBe(join(root, 'real', 'pg_dump'));
    const error = await findPgTool('pg_dump', 78).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookingDbError);
    expect((error as BookingDbError).exitCode).toBe(ExitCode.precondition);
    expect((error as BookingDbError).message).toMatch(/pg_dump 78 or newer is needed for a PostgreSQL 78 server: found only .*old\/pg_dump \(12\.9\)/);
    expect((error as BookingDbError).hint).toMatch(/postgresql-client-78/);
  });
});
