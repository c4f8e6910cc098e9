import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Durability helpers of a backup: a file is only as safe as its fsync, and a rename
 * only as safe as the fsync of the directory that holds it.
 */

/** fsync of a directory (its entries: new files, renames). */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface WrittenFile {
  /** Relative to the backup's directory, with / separators. */
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Writes a stream of chunks to a new file, hashing each chunk on its way to the disk
 * (the checksum is of what was written, never of a re-read), then fsyncs the file.
 * `onBytes` sees the running total (progress).
 */
export async function writeStreamHashed(
  file: string, relPath: string, chunks: AsyncIterable<Uint8Array>, onBytes?: (total: number) => void,
): Promise<WrittenFile> {
  const handle = await open(file, 'wx', 0o600);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
      bytes += chunk.length;
      onBytes?.(bytes);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { path: relPath, bytes, sha256: hash.digest('hex') };
}

/** Every regular file under dir (recursive), as paths relative to base, sorted. */
export async function listFiles(dir: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (entry.isFile()) out.push(relative(base, full).split(sep).join('/'));
  }
  return out.sort();
}

/**
 * Hashes and fsyncs a file another program wrote (pg_dump -Fd): read once, after it
 * was written, because pg_dump's workers write the files themselves.
 */
export async function hashAndSyncFile(base: string, relPath: string): Promise<WrittenFile> {
  const file = join(base, relPath);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { path: relPath, bytes, sha256: hash.digest('hex') };
}
