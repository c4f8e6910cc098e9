import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { usageError } from '../errors.js';

/**
 * A --password-file, prepared before any role exists and committed after the password
 * is set. The password is written to a new file in the same directory, created
 * exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, so it is the caller's), and renamed
 * over the path: rename never follows a symlink and never reuses another user's inode,
 * so a file or link planted at the path is replaced, not written through. An existing
 * path must be a regular file owned by the caller (the usual `rotate` into the file
 * `create` wrote); a symlink, a directory or someone else's file is refused, exit 2.
 */
export interface PasswordFile {
  /** The path as given, for messages. */
  readonly path: string;
  /** Writes the password into the temporary file (not yet visible at path). */
  write(password: string): Promise<void>;
  /** Renames the temporary file over path. */
  commit(): Promise<void>;
  /** Removes the temporary file; safe to call more than once, and after commit. */
  discard(): Promise<void>;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function refuse(message: string, hint: string): never {
  throw usageError(message, hint);
}

/** Checks the path and its directory, then creates the temporary file. Exit 2 on any problem. */
export async function preparePasswordFile(path: string): Promise<PasswordFile> {
  const full = resolve(path);
  const dir = dirname(full);
  const uid = process.geteuid?.();
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat) refuse(`--password-file ${path}: directory ${dir} does not exist`, 'create the directory first, or pick a path in an existing one');
  if (!dirStat.isDirectory()) refuse(`--password-file ${path}: ${dir} is not a directory`, 'pick a path in an existing directory');

  const existing = await lstatOrUndefined(full);
  if (existing) {
    if (existing.isSymbolicLink()) {
      refuse(`--password-file ${path} is a symbolic link; refusing to write a password through it`, 'remove the link or pick another path');
    }
    if (!existing.isFile()) refuse(`--password-file ${path} is not a regular file`, 'pick the path of a new file');
    if (uid !== undefined && existing.uid !== uid) {
      refuse(`--password-file ${path} exists and is owned by uid ${existing.uid}, not by you (uid ${uid}); refusing to reuse it`,
        'remove it or pick a new path, ideally in a directory only you can write');
    }
  }

  const temp = join(dir, `.${basename(full)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    refuse(`--password-file ${path}: cannot create a file in ${dir} (${e.code ?? e.message})`, 'pick a directory you can write');
  }
  let open_ = true;
  let committed = false;
  const close = async () => {
    if (open_) {
      open_ = false;
      await handle.close();
    }
  };
  return {
    path,
    async write(password: string) {
      await handle.chmod(0o600); // whatever the umask did
      await handle.writeFile(`${password}\n`, 'utf8');
      await handle.sync();
      await close();
    },
    async commit() {
      await close();
      try {
        await rename(temp, full);
        committed = true;
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        throw usageError(`--password-file ${path}: cannot put the password file in place (${e.code ?? e.message})`,
          'pick a path in a directory only you can write; nothing was changed');
      }
    },
    async discard() {
      await close().catch(() => undefined);
      if (!committed) await unlink(temp).catch(() => undefined);
    },
  };
}
