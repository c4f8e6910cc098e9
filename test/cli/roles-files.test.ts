import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canLogin, createTestDatabase, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';

/**
 * --password-file: the file is checked and opened before any role exists, created
 * exclusively (0600, owned by the caller), never through a symlink or into a file
 * someone else made; a failure leaves no role behind and no rotated password unknown.
 */
const db = await createTestDatabase();
const scratch: string[] = [];
const made = (d: string) => (scratch.push(d), d);
afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });

function dir(): string {
  return made(mkdtempSync(join(tmpdir(), 'bkpwfile-')));
}

async function roleExists(name: string): Promise<boolean> {
  return (await db.sql`select 1 from pg_roles where rolname = ${name}`).length > 0;
}

function nobodyUid(): number {
  return Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
}

const loginWorks = (user: string, password: string) => canLogin(db.url, user, password);

describe('roles create --password-file', () => {
  it('a path in a missing directory is exit 2 and creates no role; the retry then works', async () => {
    const name = uniqueName('nodir');
    const missing = join(dir(), 'no-such-dir', 'api.pw');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', missing, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no-such-dir/);
    expect(r.stderr).not.toMatch(/this is a bug/);
    expect(await roleExists(name)).toBe(false);

    const ok = join(dir(), 'api.pw');
    const retry = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', ok, '--database-url', db.url]);
    expect(retry.code, retry.stderr).toBe(0);
  });

  it('refuses a symlink (exit 2), leaves its target unchanged and creates no role', async () => {
    const d = dir();
    const target = join(d, 'target.txt');
    writeFileSync(target, 'precious\n');
    const link = join(d, 'api.pw');
    symlinkSync(target, link);
    const name = uniqueName('symlink');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', link, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/symlink|symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(await roleExists(name)).toBe(false);
  });

  it('refuses a symlink to a path that does not exist yet (it would be created through the link)', async () => {
    const d = dir();
    const target = join(d, 'elsewhere.txt');
    const link = join(d, 'api.pw');
    symlinkSync(target, link);
    const name = uniqueName('dangling');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', link, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(existsSync(target)).toBe(false);
    expect(await roleExists(name)).toBe(false);
  });

  it("refuses a pre-created 0666 file owned by another user (exit 2), which keeps no password", async () => {
    const d = dir();
    chmodSync(d, 0o1777); // a shared directory, like /tmp
    const file = join(d, 'api.pw');
    writeFileSync(file, '');
    chmodSync(file, 0o666);
    chownSync(file, nobodyUid(), nobodyUid());
    const name = uniqueName('foreign');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/owned by/);
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(statSync(file).uid).toBe(nobodyUid());
    expect(await roleExists(name)).toBe(false);
  });

  it('refuses a directory or other non-regular file (exit 2)', async () => {
    const d = dir();
    const name = uniqueName('isdir');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', d, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not a regular file/);
    expect(await roleExists(name)).toBe(false);
  });

  it('writes a normal path with mode 0600, owned by the caller, and leaves no temporary file', async () => {
    const d = dir();
    const file = join(d, 'api.pw');
    const name = uniqueName('normal');
    const r = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    const st = statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
    expect(execFileSync('ls', ['-A', d], { encoding: 'utf8' }).trim()).toBe('api.pw');
    expect(await loginWorks(name, readFileSync(file, 'utf8').trim())).toBe(true);
  });
});

describe('roles rotate --password-file', () => {
  it('a bad path is exit 2 and the old password keeps working', async () => {
    const d = dir();
    const file = join(d, 'api.pw');
    const name = uniqueName('rot');
    const c = await runCli(['roles', 'create', 'app', '--name', name, '--password-file', file, '--database-url', db.url]);
    expect(c.code, c.stderr).toBe(0);
    const password = readFileSync(file, 'utf8').trim();

    const link = join(d, 'link.pw');
    symlinkSync(join(d, 'elsewhere'), link);
    for (const bad of [join(d, 'missing', 'x.pw'), link]) {
      const r = await runCli(['roles', 'rotate', name, '--password-file', bad, '--database-url', db.url]);
      expect(r.code, r.stderr).toBe(2);
    }
    expect(existsSync(join(d, 'elsewhere'))).toBe(false);
    expect(await loginWorks(name, password)).toBe(true);

    // a file of the caller's own is replaced (the usual rotate), still 0600
    chmodSync(file, 0o644);
    const r = await runCli(['roles', 'rotate', name, '--password-file', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const fresh = readFileSync(file, 'utf8').trim();
    expect(fresh).not.toBe(password);
    expect(await loginWorks(name, fresh)).toBe(true);
  });
});

describe('role names and kinds are checked before connecting', () => {
  it('a name starting with pg_ is exit 2 with a clear message, not "this is a bug"', async () => {
    const file = join(dir(), 'x.pw');
    const r = await runCli(['roles', 'create', 'app', '--name', 'pg_api', '--password-file', file, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pg_/);
    expect(r.stderr).not.toMatch(/this is a bug/);
    expect(existsSync(file)).toBe(false);
  });

  it('an unknown kind or bad name fails without a reachable database (nothing is started or connected)', async () => {
    const file = join(dir(), 'x.pw');
    const unreachable = 'postgres://nobody@127.0.0.1:1/none';
    for (const args of [['roles', 'create', 'owner', '--name', 'okname'], ['roles', 'create', 'app', '--name', 'pg_x'], ['roles', 'rotate', 'pg_x'],
      ['roles', 'create', 'app', '--name', 'okname', '--role-prefix', 'pg'], ['roles', 'rotate', 'okname', '--role-prefix', 'pg_x']]) {
      const r = await runCli([...args, '--password-file', file, '--database-url', unreachable]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
  });
});
