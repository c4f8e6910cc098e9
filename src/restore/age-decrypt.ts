import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AgeDecryptStream, AgeError, parseHeader, parseIdentity, unwrapFileKey, type Header, type X25519Identity } from '../backup/age-stream.js';
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

const HEADER_READ = 64 * 1024;
const MAX_HEADER = 1024 * 1024;

/** The file's age header, read and checked (identity, MAC); the file key it wraps. */
async function readHeader(path: string, identities: AgeIdentities, keys: X25519Identity[]): Promise<{ header: Header; fileKey: Buffer }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new BookingDbError('read_failed', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { exitCode: 1, cause: error });
  }
  try {
    let buf = Buffer.alloc(0);
    for (;;) {
      const chunk = Buffer.allocUnsafe(HEADER_READ);
      const { bytesRead } = await handle.read(chunk, 0, HEADER_READ, buf.length);
      buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
      let header: Header | null;
      try {
        header = parseHeader(buf);
        if (!header && (bytesRead === 0 || buf.length > MAX_HEADER)) throw new AgeError(bytesRead === 0 ? 'not an age file or truncated (the header is incomplete)' : 'header too long');
        if (header) return { header, fileKey: unwrapFileKey(header, keys) };
      } catch (error) {
        throw wrongIdentity(identities, path, error);
      }
    }
  } finally {
    await handle.close();
  }
}

/**
 * The plaintext of an age file as a Node stream (native crypto, src/backup/age-stream.ts).
 * The header is checked before this resolves, so a wrong identity is one clear error
 * here, not a broken pipe later; a damaged or truncated body errors the stream.
 */
export async function openDecrypted(path: string, identities: AgeIdentities): Promise<Readable> {
  const keys = identities.keys.map((key) => {
    try {
      return parseIdentity(key);
    } catch (error) {
      throw usageError(`${identities.file} holds an invalid age identity: ${(error as Error).message}`, 'pass --identity-file with an AGE-SECRET-KEY-1... line (age-keygen output)');
    }
  });
  const { header, fileKey } = await readHeader(path, identities, keys);
  const source = createReadStream(path, { start: header.length, highWaterMark: 1024 * 1024 });
  const plain = new AgeDecryptStream({ fileKey });
  source.on('error', (error) => plain.destroy(error));
  plain.on('close', () => source.destroy());
  return source.pipe(plain);
}
