import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter } from 'age-encryption';
import { BookingDbError, usageError } from '../errors.js';

/**
 * Decryption of an encrypted backup's files (age, DESIGN.md's stack) for restore-verify
 * and restore. Streaming: a file is never held in memory, and the plaintext goes
 * straight into pg_restore's stdin (custom format) or a scratch file (directory format).
 */
export interface AgeIdentities {
  /** The identity file's path, for messages. */
  file: string;
  keys: string[];
}

/** Reads an age identity file (`age-keygen` output: comments and AGE-SECRET-KEY-1... lines). */
export async function readIdentityFile(file: string): Promise<AgeIdentities> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read the identity file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'pass --identity-file with the age key the backup was encrypted to (age-keygen output)');
  }
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^AGE-SECRET-KEY-/.test(l));
  if (keys.length === 0) throw usageError(`${file} holds no age identity (no AGE-SECRET-KEY-1... line)`, 'pass --identity-file with the age key the backup was encrypted to (age-keygen output)');
  return { file, keys };
}

function wrongIdentity(identities: AgeIdentities, path: string, error: unknown): BookingDbError {
  return new BookingDbError('wrong_identity', `cannot decrypt ${path} with the identity in ${identities.file}: ${(error as Error).message}`, {
    hint: 'pass --identity-file with the key of one of the recipients listed in the manifest (encryption.recipients)',
    exitCode: 1, cause: error,
  });
}

/**
 * The plaintext of an age file as a Node stream. The header is checked before this
 * resolves, so a wrong identity is one clear error here, not a broken pipe later; a
 * damaged body errors the stream ("invalid tag").
 */
export async function openDecrypted(path: string, identities: AgeIdentities): Promise<Readable> {
  const decrypter = new Decrypter();
  for (const key of identities.keys) {
    try {
      decrypter.addIdentity(key);
    } catch (error) {
      throw usageError(`${identities.file} holds an invalid age identity: ${(error as Error).message}`, 'pass --identity-file with an AGE-SECRET-KEY-1... line (age-keygen output)');
    }
  }
  const source = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(source);
  } catch (error) {
    throw wrongIdentity(identities, path, error);
  }
  return Readable.fromWeb(plain as unknown as WebReadableStream<Uint8Array>);
}
