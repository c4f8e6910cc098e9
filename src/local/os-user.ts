import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Who the local server runs as. As root: the OS user `postgres` (created when missing),
 * because PostgreSQL refuses to run as root. Otherwise: the caller, and `uid` is undefined.
 * Every subprocess here is execFile/spawn with an argument vector (no shell), and the
 * arguments of id/groupadd/useradd are constants.
 */
export interface ServerUser {
  uid?: number;
  gid?: number;
}

let cached: ServerUser | undefined;

export async function serverUser(): Promise<ServerUser> {
  cached ??= await lookupServerUser();
  return cached;
}

async function lookupServerUser(): Promise<ServerUser> {
  if (userInfo().uid !== 0) return {};
  const lookup = async () => {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', '-M', '-r', 'postgres']).catch(() => undefined);
    return lookup();
  }
}

/**
 * The first directory on the way to `path` (path itself included, when it exists) that
 * the server user cannot traverse, or undefined when it can reach it. Computed from the
 * mode bits as the kernel does for a process with that uid and primary gid (spawn with a
 * uid drops supplementary groups); ACLs are not read, so a directory opened only by an
 * ACL counts as closed (the caller then picks a reachable place, which is harmless).
 */
export function firstUntraversable(path: string, user: ServerUser): string | undefined {
  if (user.uid === undefined) return undefined;
  const chain: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const dir of chain) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      return undefined; // does not exist yet: everything above it was traversable
    }
    if (!st.isDirectory()) return undefined;
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return dir;
  }
  return undefined;
}
