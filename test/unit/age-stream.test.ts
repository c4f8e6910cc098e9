import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AgeDecryptStream, AgeEncryptStream, bech32Decode, bech32Encode, generateIdentity, identityToRecipient, parseIdentity, parseRecipient,
} from '../../src/backup/age-stream.js';
import { openDecrypted } from '../../src/restore/age-decrypt.js';
import { BookingDbError } from '../../src/errors.js';

// The native age v1 implementation against Debian's `age` CLI (the reference, Go): each
// decrypts what the other encrypts, at the chunk-size edges, and every kind of damage
// (wrong key, header byte, body byte, truncation, extension) is refused by ours.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'age-stream-'));
const CHUNK = 64 * 1024;
let seq = 0;

function tmp(name: string): string {
  return join(dir, `${seq++}-${name}`);
}

/** An `age-keygen` key: its file and its recipient. */
async function keygen(): Promise<{ file: string; identity: string; recipient: string }> {
  const file = tmp('key.txt');
  await run('age-keygen', ['-o', file]);
  const identity = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
  const { stdout } = await run('age-keygen', ['-y', file]);
  return { file, identity, recipient: stdout.trim() };
}

/** The bytes in pieces of random sizes, so the streams' buffering is exercised. */
function pieces(data: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length;) {
    const n = Math.min(data.length - off, randomInt(1, 3 * CHUNK));
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts, { objectMode: false });
}

async function collect(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function encrypt(data: Buffer, recipients: string[]): Promise<Buffer> {
  const enc = new AgeEncryptStream(recipients);
  const done = collect(enc);
  await pipeline(pieces(data), enc);
  return done;
}

async function decrypt(file: Buffer, identities: string[]): Promise<Buffer> {
  const dec = new AgeDecryptStream({ identities });
  const out: Buffer[] = [];
  dec.on('data', (c: Buffer) => out.push(c));
  await pipeline(pieces(file), dec);
  return Buffer.concat(out);
}

async function ageDecrypt(file: Buffer, keyFile: string): Promise<Buffer> {
  const path = tmp('in.age');
  writeFileSync(path, file);
  // stdout, not -o: age creates no output file for an empty plaintext
  const { stdout } = await run('age', ['-d', '-i', keyFile, path], { encoding: 'buffer', maxBuffer: 1 << 30 });
  return stdout;
}

async function ageEncrypt(data: Buffer, recipients: string[]): Promise<Buffer> {
  const path = tmp('plain');
  const out = tmp('out.age');
  writeFileSync(path, data);
  await run('age', [...recipients.flatMap((r) => ['-r', r]), '-o', out, path]);
  return readFileSync(out);
}

/** Header bytes: through the MAC line's newline. */
function headerLength(file: Buffer): number {
  return file.indexOf('\n', file.indexOf('\n--- ') + 1) + 1;
}

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK * 7 + randomInt(1, CHUNK)];

describe('age v1 with node:crypto, against the age CLI', { timeout: 60_000 }, () => {
  it('decrypts with age -d what it encrypts, and the STREAM framing is exact (a full last chunk, no empty one)', async () => {
    const key = await keygen();
    for (const size of SIZES) {
      const data = randomBytes(size);
      const file = await encrypt(data, [key.recipient]);
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      expect(file.length, `size ${size}`).toBe(headerLength(file) + 16 + size + 16 * chunks);
      expect((await ageDecrypt(file, key.file)).equals(data), `size ${size}`).toBe(true);
    }
  });

  it('decrypts what age -r encrypts', async () => {
    const key = await keygen();
    for (const size of SIZES) {
      const data = randomBytes(size);
      const file = await ageEncrypt(data, [key.recipient]);
      expect((await decrypt(file, [key.identity])).equals(data), `size ${size}`).toBe(true);
    }
  });

  it('works with several recipients both ways, whichever key decrypts, and with several identities', async () => {
    const keys = await Promise.all([keygen(), keygen(), keygen()]);
    const data = randomBytes(2 * CHUNK + 17);
    const ours = await encrypt(data, keys.map((k) => k.recipient));
    expect(ours.toString('latin1').match(/^-> X25519 /gm)).toHaveLength(3);
    const theirs = await ageEncrypt(data, keys.map((k) => k.recipient));
    for (const k of keys) {
      expect((await ageDecrypt(ours, k.file)).equals(data)).toBe(true);
      expect((await decrypt(theirs, [k.identity])).equals(data)).toBe(true);
    }
    const stranger = generateIdentity();
    expect((await decrypt(theirs, [stranger.identity, keys[2].identity])).equals(data)).toBe(true);
  });

  it('refuses a wrong identity before any plaintext, as age does', async () => {
    const key = await keygen();
    const other = await keygen();
    const file = await encrypt(randomBytes(1000), [key.recipient]);
    await expect(ageDecrypt(file, other.file)).rejects.toThrow(/no identity matched/);
    const dec = new AgeDecryptStream({ identities: [other.identity] });
    let plaintext = 0;
    dec.on('data', (c: Buffer) => { plaintext += c.length; });
    await expect(pipeline(Readable.from([file]), dec)).rejects.toThrow(/^no identity matched any of the recipients$/);
    await expect(dec.header).rejects.toThrow(/no identity matched/);
    expect(plaintext).toBe(0);
  });

  it('refuses a flipped byte in the header: intro, stanza, MAC', async () => {
    const key = await keygen();
    const file = await encrypt(randomBytes(100), [key.recipient]);
    const text = file.toString('latin1');
    const damage = (at: number) => { const f = Buffer.from(file); f[at] ^= 0x01; return f; };
    await expect(decrypt(damage(3), [key.identity])).rejects.toThrow(/not an age v1 file/);
    // the wrapped file key (the stanza body's first character) no longer opens
    const body = text.indexOf('\n', text.indexOf('-> X25519 ')) + 1;
    await expect(decrypt(damage(body), [key.identity])).rejects.toThrow(/no identity matched|malformed/);
    // the ephemeral share: another shared secret
    await expect(decrypt(damage(text.indexOf('-> X25519 ') + 12), [key.identity])).rejects.toThrow(/no identity matched|malformed/);
    // the MAC itself, and a byte the MAC covers that parsing allows (the stanza type)
    const mac = text.indexOf('\n--- ') + 6;
    await expect(decrypt(damage(mac), [key.identity])).rejects.toThrow(/bad header MAC|malformed header MAC/);
    await expect(ageDecrypt(damage(mac), key.file)).rejects.toThrow();
    const withGrease = Buffer.from(text.replace('-> X25519 ', '-> grease-x 1 2\n\n-> X25519 '), 'latin1');
    await expect(decrypt(withGrease, [key.identity])).rejects.toThrow(/bad header MAC/);
  });

  it('refuses a flipped byte in the body: nonce, first chunk, last chunk', async () => {
    const key = await keygen();
    const data = randomBytes(3 * CHUNK + 100);
    const file = await encrypt(data, [key.recipient]);
    const start = headerLength(file);
    for (const at of [start, start + 16, start + 16 + CHUNK + 5, file.length - 1]) {
      const f = Buffer.from(file);
      f[at] ^= 0x80;
      await expect(decrypt(f, [key.identity]), `offset ${at - start}`).rejects.toThrow(/fails authentication/);
    }
  });

  it('refuses a truncated file, also one cut exactly at a chunk boundary, and data after the last chunk', async () => {
    const key = await keygen();
    const file = await encrypt(randomBytes(3 * CHUNK), [key.recipient]);
    const payload = headerLength(file) + 16;
    expect(file.length).toBe(payload + 3 * (CHUNK + 16));
    const atBoundary = file.subarray(0, payload + 2 * (CHUNK + 16));
    await expect(ageDecrypt(atBoundary, key.file)).rejects.toThrow(); // the reference refuses it too
    await expect(decrypt(atBoundary, [key.identity])).rejects.toThrow(/truncated age file \(the last chunk is missing\)/);
    await expect(decrypt(file.subarray(0, file.length - 100), [key.identity])).rejects.toThrow(/fails authentication \(or the file is truncated\)/);
    await expect(decrypt(file.subarray(0, payload), [key.identity])).rejects.toThrow(/truncated age file \(no payload\)/);
    await expect(decrypt(file.subarray(0, payload - 5), [key.identity])).rejects.toThrow(/no payload nonce/);
    await expect(decrypt(file.subarray(0, headerLength(file) - 10), [key.identity])).rejects.toThrow(/header is incomplete/);
    await expect(decrypt(Buffer.concat([file, Buffer.from('x')]), [key.identity])).rejects.toThrow(/data after the last chunk/);
    const empty = await encrypt(Buffer.alloc(0), [key.recipient]);
    await expect(decrypt(Buffer.concat([empty, empty.subarray(headerLength(empty) + 16)]), [key.identity])).rejects.toThrow(/damaged age payload/);
    expect(await decrypt(empty, [key.identity])).toEqual(Buffer.alloc(0));
  });
});

describe('age keys (bech32)', () => {
  it('decodes the BIP 173 vectors and derives the same recipient as age-keygen -y', async () => {
    expect(bech32Decode('A12UEL5L')).toEqual({ hrp: 'a', data: Buffer.alloc(0) });
    expect(bech32Decode('abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw').hrp).toBe('abcdef');
    const key = await keygen();
    expect(identityToRecipient(key.identity)).toBe(key.recipient);
    expect(bech32Encode('age', parseRecipient(key.recipient))).toBe(key.recipient);
    const mine = generateIdentity();
    const file = tmp('mine.txt');
    writeFileSync(file, `${mine.identity}\n`);
    expect((await run('age-keygen', ['-y', file])).stdout.trim()).toBe(mine.recipient);
  });

  it('refuses a bad checksum, a wrong prefix, mixed case and a wrong length with the reason', async () => {
    const { recipient, identity } = generateIdentity();
    const last = recipient.at(-1)!;
    const badChecksum = recipient.slice(0, -1) + (last === 'q' ? 'p' : 'q');
    expect(() => parseRecipient(badChecksum)).toThrow(/invalid checksum/);
    expect(() => new AgeEncryptStream([recipient, badChecksum])).toThrow(/invalid checksum/);
    expect(() => parseRecipient(bech32Encode('agf', parseRecipient(recipient)))).toThrow(/prefix "agf1", not "age1"/);
    expect(() => parseRecipient(identity)).toThrow(/not an age X25519 recipient|lower case/);
    expect(() => parseRecipient(recipient.slice(0, 10) + recipient.slice(10).toUpperCase())).toThrow(/mixed case/);
    expect(() => parseRecipient(bech32Encode('age', randomBytes(31)))).toThrow(/31 bytes, not 32/);
    expect(() => parseIdentity(recipient)).toThrow(/AGE-SECRET-KEY-1/);
    expect(() => parseIdentity(identity.slice(0, -1) + (identity.at(-1) === 'Q' ? 'P' : 'Q'))).toThrow(/invalid checksum/);
  });
});

describe('openDecrypted (restore-verify, restore)', { timeout: 60_000 }, () => {
  it('streams the plaintext of an age -r file; a wrong identity or a damaged header is one wrong_identity error before any stream', async () => {
    const key = await keygen();
    const data = randomBytes(4 * CHUNK + 3);
    const path = tmp('dump.pgdump.age');
    writeFileSync(path, await ageEncrypt(data, [key.recipient]));
    expect((await collect(await openDecrypted(path, { file: key.file, keys: [key.identity] }))).equals(data)).toBe(true);

    const other = await keygen();
    const wrong = await openDecrypted(path, { file: other.file, keys: [other.identity] }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(BookingDbError);
    expect((wrong as BookingDbError).code).toBe('wrong_identity');
    expect((wrong as BookingDbError).exitCode).toBe(1);
    expect((wrong as Error).message).toBe(`cannot decrypt ${path} with the identity in ${other.file}: no identity matched any of the recipients`);

    const file = readFileSync(path);
    file[file.indexOf('\n--- ') + 8] ^= 0x02;
    const damagedHeader = tmp('damaged-header.age');
    writeFileSync(damagedHeader, file);
    await expect(openDecrypted(damagedHeader, { file: key.file, keys: [key.identity] })).rejects.toThrow(/^cannot decrypt \S+ with the identity in \S+: (bad|malformed) header MAC/);
  });

  it('errors the stream on a damaged body', async () => {
    const key = await keygen();
    const file = await ageEncrypt(randomBytes(3 * CHUNK), [key.recipient]);
    file[file.length - CHUNK] ^= 0x10;
    const path = tmp('damaged-body.age');
    writeFileSync(path, file);
    const plain = await openDecrypted(path, { file: key.file, keys: [key.identity] });
    await expect(collect(plain)).rejects.toThrow(/damaged age payload: chunk 2 fails authentication/);
  });
});
