import {
  createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman,
  generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual, type KeyObject,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The age v1 file format (https://age-encryption.org/v1) with X25519 recipients, on
 * node:crypto's native primitives (X25519, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305)
 * as Node Transform streams: backup encrypts pg_dump's stdout with it, restore-verify and
 * restore decrypt with it. Interoperable with Debian's `age` CLI both ways (tested).
 * A file is: the text header (one stanza per recipient wrapping the 16-byte file key,
 * then the header's MAC), a 16-byte nonce, then the payload in 64 KiB chunks
 * (STREAM: ChaCha20-Poly1305, nonce = 11-byte big-endian counter || last-chunk flag).
 */

const INTRO = 'age-encryption.org/v1\n';
const MAC_PREFIX = '---';
const X25519_INFO = 'age-encryption.org/v1/X25519';
export const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
const FILE_KEY_SIZE = 16;
const NONCE_SIZE = 16;
/** A header larger than this is refused (age itself has no limit; ours are ~100 bytes a recipient). */
const MAX_HEADER = 1024 * 1024;

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A malformed or undecryptable age file, or a bad key string. */
export class AgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgeError';
  }
}

// ---- bech32 (BIP 173 checksum; age ignores its 90-character limit) ----

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function convertBits(data: number[], from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) {
    return null;
  }
  return out;
}

/** Decodes a bech32 string (all lower or all upper case); the HRP is returned in lower case. */
export function bech32Decode(s: string): { hrp: string; data: Buffer } {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) throw new AgeError('mixed case');
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) throw new AgeError('no separator or too short');
  const hrp = lower.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw new AgeError('invalid character in the prefix');
  }
  const values: number[] = [];
  for (const ch of lower.slice(sep + 1)) {
    const v = CHARSET.indexOf(ch);
    if (v < 0) throw new AgeError(`invalid character ${JSON.stringify(ch)}`);
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) throw new AgeError('invalid checksum');
  const bytes = convertBits(values.slice(0, -6), 5, 8, false);
  if (!bytes) throw new AgeError('invalid padding');
  return { hrp, data: Buffer.from(bytes) };
}

/** Encodes bytes as bech32 with the given (lower-case) HRP. */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const values = convertBits([...data], 8, 5, true)!;
  const mod = polymod([...hrpExpand(hrp), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum: number[] = [];
  for (let i = 0; i < 6; i++) checksum.push((mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...values, ...checksum].map((v) => CHARSET[v]).join('')}`;
}

// ---- keys ----

/** The 32-byte X25519 public key of an `age1...` recipient; AgeError with the reason otherwise. */
export function parseRecipient(recipient: string): Buffer {
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(recipient);
  } catch (error) {
    throw new AgeError(`not an age recipient (${(error as Error).message})`);
  }
  if (recipient !== recipient.toLowerCase()) throw new AgeError('not an age recipient (must be lower case)');
  if (decoded.hrp !== 'age') throw new AgeError(`not an age X25519 recipient (prefix "${decoded.hrp}1", not "age1")`);
  if (decoded.data.length !== 32) throw new AgeError(`not an age X25519 recipient (${decoded.data.length} bytes, not 32)`);
  return decoded.data;
}

export interface X25519Identity {
  secret: KeyObject;
  /** Our own public key, raw (the HKDF salt's second half). */
  publicKey: Buffer;
}

/** An `AGE-SECRET-KEY-1...` line as a key; AgeError with the reason otherwise. */
export function parseIdentity(identity: string): X25519Identity {
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(identity);
  } catch (error) {
    throw new AgeError(`not an age identity (${(error as Error).message})`);
  }
  if (decoded.hrp !== 'age-secret-key-') throw new AgeError('not an age X25519 identity (no AGE-SECRET-KEY-1 prefix)');
  if (decoded.data.length !== 32) throw new AgeError(`not an age X25519 identity (${decoded.data.length} bytes, not 32)`);
  const secret = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, decoded.data]), format: 'der', type: 'pkcs8' });
  return { secret, publicKey: rawPublicKey(createPublicKey(secret)) };
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** A new identity and its recipient (what `age-keygen` prints). */
export function generateIdentity(): { identity: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  return { identity: bech32Encode('age-secret-key-', d).toUpperCase(), recipient: bech32Encode('age', rawPublicKey(publicKey)) };
}

/** The recipient (`age1...`) of an identity (`age-keygen -y`). */
export function identityToRecipient(identity: string): string {
  return bech32Encode('age', parseIdentity(identity).publicKey);
}

// ---- primitives ----

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

const ZERO_NONCE = Buffer.alloc(12);

function seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, out: Buffer, at: number): number {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  let n = c.update(plain).copy(out, at);
  n += c.final().copy(out, at + n);
  n += c.getAuthTag().copy(out, at + n);
  return n;
}

/** null: the tag does not match. */
function open(key: Uint8Array, nonce: Uint8Array, sealed: Buffer): Buffer | null {
  if (sealed.length < TAG_SIZE) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = sealed.subarray(0, sealed.length - TAG_SIZE);
  try {
    const a = d.update(body);
    const b = d.final();
    return b.length ? Buffer.concat([a, b]) : a;
  } catch {
    return null;
  }
}

function b64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64').replace(/=+$/, '');
}

/** Canonical unpadded base64 only (as age requires); null otherwise. */
function unb64(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const data = Buffer.from(s, 'base64');
  return b64(data) === s ? data : null;
}

// ---- header ----

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

export interface Header {
  stanzas: Stanza[];
  /** The header bytes the MAC covers: through "---". */
  macInput: Buffer;
  mac: Buffer;
  /** Bytes of the header, its final newline included (the payload nonce follows). */
  length: number;
}

function wrapBody(body: Uint8Array): string {
  const text = b64(body);
  let out = '';
  for (let i = 0; i + 64 <= text.length; i += 64) out += `${text.slice(i, i + 64)}\n`;
  return `${out}${text.slice(text.length - (text.length % 64))}\n`;
}

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(macInput).digest();
}

function x25519(secret: KeyObject, publicKey: Buffer): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: secret, publicKey: publicKeyObject(publicKey) });
  } catch {
    throw new AgeError('invalid X25519 share (low-order point)');
  }
  if (shared.every((b) => b === 0)) throw new AgeError('invalid X25519 share (low-order point)');
  return shared;
}

/** The header for these recipients' raw public keys, wrapping fileKey. */
export function encodeHeader(recipients: Buffer[], fileKey: Buffer): Buffer {
  let text = INTRO;
  for (const recipient of recipients) {
    const eph = generateKeyPairSync('x25519');
    const share = rawPublicKey(eph.publicKey);
    const wrapKey = hkdf(x25519(eph.privateKey, recipient), Buffer.concat([share, recipient]), X25519_INFO);
    const body = Buffer.alloc(FILE_KEY_SIZE + TAG_SIZE);
    seal(wrapKey, ZERO_NONCE, fileKey, body, 0);
    text += `-> X25519 ${b64(share)}\n${wrapBody(body)}`;
  }
  text += MAC_PREFIX;
  const macInput = Buffer.from(text, 'latin1');
  return Buffer.concat([macInput, Buffer.from(` ${b64(headerMac(fileKey, macInput))}\n`, 'latin1')]);
}

const ARG = /^[\x21-\x7e]+$/;

/**
 * Parses the header at the start of buf. null: buf ends before the header does (read
 * more); AgeError: not a valid age v1 header.
 */
export function parseHeader(buf: Buffer): Header | null {
  let pos = 0;
  const line = (): string | null => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) {
      if (buf.length - pos > MAX_HEADER) throw new AgeError('header too long');
      return null;
    }
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const intro = line();
  if (intro === null) {
    if (buf.length >= INTRO.length && !buf.subarray(0, INTRO.length).equals(Buffer.from(INTRO))) throw new AgeError('not an age v1 file (no age-encryption.org/v1 line)');
    return null;
  }
  if (`${intro}\n` !== INTRO) throw new AgeError('not an age v1 file (no age-encryption.org/v1 line)');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = pos;
    const l = line();
    if (l === null) return null;
    if (pos > MAX_HEADER) throw new AgeError('header too long');
    if (l.startsWith(`${MAC_PREFIX} `) || l === MAC_PREFIX) {
      const mac = unb64(l.slice(MAC_PREFIX.length + 1));
      if (!l.startsWith(`${MAC_PREFIX} `) || !mac || mac.length !== 32) throw new AgeError('malformed header MAC line');
      return { stanzas, macInput: buf.subarray(0, start + MAC_PREFIX.length), mac, length: pos };
    }
    if (!l.startsWith('-> ')) throw new AgeError('malformed header (expected a stanza or the MAC line)');
    const args = l.slice(3).split(' ');
    if (args.some((a) => !ARG.test(a))) throw new AgeError('malformed stanza arguments');
    const parts: Buffer[] = [];
    for (;;) {
      const b = line();
      if (b === null) return null;
      if (b.length > 64) throw new AgeError('malformed stanza body (line longer than 64 columns)');
      const data = unb64(b);
      if (!data) throw new AgeError('malformed stanza body (not canonical base64)');
      parts.push(data);
      if (b.length < 64) break;
    }
    stanzas.push({ type: args[0], args: args.slice(1), body: Buffer.concat(parts) });
  }
}

/** The file key, from the first stanza one of the identities opens; the MAC checked. */
export function unwrapFileKey(header: Header, identities: X25519Identity[]): Buffer {
  let fileKey: Buffer | null = null;
  for (const s of header.stanzas) {
    if (s.type !== 'X25519') continue;
    const share = s.args.length === 1 ? unb64(s.args[0]) : null;
    if (!share || share.length !== 32 || s.body.length !== FILE_KEY_SIZE + TAG_SIZE) throw new AgeError('malformed X25519 stanza');
    for (const id of identities) {
      const wrapKey = hkdf(x25519(id.secret, share), Buffer.concat([share, id.publicKey]), X25519_INFO);
      fileKey = open(wrapKey, ZERO_NONCE, s.body);
      if (fileKey) break;
    }
    if (fileKey) break;
  }
  if (!fileKey) throw new AgeError('no identity matched any of the recipients');
  if (!timingSafeEqual(headerMac(fileKey, header.macInput), header.mac)) throw new AgeError('bad header MAC (the header is damaged)');
  return fileKey;
}

// ---- payload (STREAM) ----

function chunkNonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  // 11-byte big-endian counter; 2^48 chunks (16 EiB) is far beyond any file here.
  n.writeUIntBE(counter, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

/**
 * Input held by reference until a whole chunk is there: no concatenation, so each byte is
 * copied only where the cipher needs it (memory bandwidth, not the cipher, was the cost).
 */
class Held {
  private list: Buffer[] = [];
  length = 0;

  add(b: Buffer): void {
    if (b.length === 0) return;
    this.list.push(b);
    this.length += b.length;
  }

  /** f on consecutive slices covering bytes [from, to) of what is held; nothing removed. */
  each(from: number, to: number, f: (b: Buffer) => void): void {
    let base = 0;
    for (const p of this.list) {
      if (base >= to) break;
      const a = Math.max(from - base, 0);
      const z = Math.min(to - base, p.length);
      if (a < z) f(a === 0 && z === p.length ? p : p.subarray(a, z));
      base += p.length;
    }
  }

  /** Bytes [from, to) as one buffer (a copy only when they span pieces). */
  slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    this.each(from, to, (b) => parts.push(b));
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, to - from);
  }

  drop(n: number): void {
    this.length -= n;
    while (n > 0) {
      const p = this.list[0];
      if (p.length <= n) {
        this.list.shift();
        n -= p.length;
      } else {
        this.list[0] = p.subarray(n);
        n = 0;
      }
    }
  }
}

/**
 * Encrypts a byte stream to age recipients (`age1...`; AgeError at construction for a bad
 * one). Output: header, nonce, then sealed 64 KiB chunks, one buffer per input batch; a
 * full chunk is held back until more input shows it is not the last.
 */
export class AgeEncryptStream extends Transform {
  private key: Buffer;
  private prefix: Buffer | null;
  private held = new Held();
  private counter = 0;

  constructor(recipients: string[]) {
    super({ readableHighWaterMark: 4 * ENC_CHUNK_SIZE });
    if (recipients.length === 0) throw new AgeError('no recipients');
    const keys = recipients.map(parseRecipient);
    const fileKey = randomBytes(FILE_KEY_SIZE);
    const nonce = randomBytes(NONCE_SIZE);
    this.key = hkdf(fileKey, nonce, 'payload');
    this.prefix = Buffer.concat([encodeHeader(keys, fileKey), nonce]);
  }

  /** Seals `full` non-last chunks, then with `final` the rest as the last chunk; one push. */
  private seal(full: number, final: boolean): void {
    const rest = final ? this.held.length - full * CHUNK_SIZE : 0;
    const head = this.prefix;
    this.prefix = null;
    const out = Buffer.allocUnsafe((head?.length ?? 0) + full * ENC_CHUNK_SIZE + (final ? rest + TAG_SIZE : 0));
    let at = head ? head.copy(out, 0) : 0;
    const one = (size: number, last: boolean) => {
      const c = createCipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter++, last), { authTagLength: TAG_SIZE });
      this.held.each(0, size, (b) => { at += c.update(b).copy(out, at); });
      at += c.final().copy(out, at);
      at += c.getAuthTag().copy(out, at);
      this.held.drop(size);
    };
    for (let i = 0; i < full; i++) one(CHUNK_SIZE, false);
    if (final) one(rest, true);
    this.push(out);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.held.add(chunk);
    // a chunk is sealed as not-last only once a byte after it is here
    if (this.held.length > CHUNK_SIZE) this.seal(Math.floor((this.held.length - 1) / CHUNK_SIZE), false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.seal(0, true);
    callback();
  }
}

/**
 * Decrypts an age file. With identities (`AGE-SECRET-KEY-1...`): the whole file, header
 * first; a wrong identity or a damaged header errors the stream before any plaintext, and
 * `header` settles once the header is checked. With a file key: the payload only (nonce,
 * then chunks; the caller read the header). A damaged chunk, a truncated file (no last
 * chunk, also when cut at a chunk boundary) and data after the last chunk error the stream;
 * a chunk's plaintext is pushed only once its tag is verified.
 */
export class AgeDecryptStream extends Transform {
  private identities: X25519Identity[] | null;
  private fileKey: Buffer | null;
  private key: Buffer | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private held = new Held();
  private counter = 0;
  readonly header: Promise<Header | null>;
  private settle!: { resolve: (h: Header | null) => void; reject: (e: Error) => void };

  constructor(from: { identities: string[] } | { fileKey: Buffer }) {
    super({ readableHighWaterMark: 4 * CHUNK_SIZE });
    this.identities = 'identities' in from ? from.identities.map(parseIdentity) : null;
    this.fileKey = 'fileKey' in from ? from.fileKey : null;
    this.header = new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
    this.header.catch(() => undefined);
    if (this.fileKey) this.settle.resolve(null);
  }

  /** The plaintext of the first `size` held bytes as chunk `counter`; null: the tag does not match. */
  private tryOpen(size: number, last: boolean): Buffer[] | null {
    if (size < TAG_SIZE) return null;
    const d = createDecipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter, last), { authTagLength: TAG_SIZE });
    d.setAuthTag(this.held.slice(size - TAG_SIZE, size));
    const out: Buffer[] = [];
    this.held.each(0, size - TAG_SIZE, (b) => out.push(d.update(b)));
    try {
      out.push(d.final());
    } catch {
      return null;
    }
    return out;
  }

  private openChunk(size: number, last: boolean): void {
    const plain = this.tryOpen(size, last);
    if (!plain) {
      if (!last && this.tryOpen(size, true)) throw new AgeError(`damaged age payload: data after the last chunk (${this.counter})`);
      if (last && size === ENC_CHUNK_SIZE && this.tryOpen(size, false)) throw new AgeError('truncated age file (the last chunk is missing)');
      throw new AgeError(`damaged age payload: chunk ${this.counter} fails authentication${last ? ' (or the file is truncated)' : ''}`);
    }
    if (last && size === TAG_SIZE && this.counter > 0) throw new AgeError('damaged age payload: empty last chunk');
    this.held.drop(size);
    this.counter++;
    for (const b of plain) if (b.length) this.push(b);
  }

  /** false: more input needed for the header. */
  private readHeader(): boolean {
    try {
      const header = parseHeader(this.pending);
      if (!header) return false;
      this.fileKey = unwrapFileKey(header, this.identities!);
      this.held.add(this.pending.subarray(header.length));
      this.pending = Buffer.alloc(0);
      this.settle.resolve(header);
      return true;
    } catch (error) {
      this.settle.reject(error as Error);
      throw error;
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.fileKey) {
        this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
        if (!this.readHeader()) return callback();
      } else {
        this.held.add(chunk);
      }
      if (!this.key) {
        if (this.held.length < NONCE_SIZE) return callback();
        this.key = hkdf(this.fileKey!, this.held.slice(0, NONCE_SIZE), 'payload');
        this.held.drop(NONCE_SIZE);
      }
      // A chunk is known not to be the last only once more bytes follow it.
      while (this.held.length > ENC_CHUNK_SIZE) this.openChunk(ENC_CHUNK_SIZE, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.fileKey) {
        const error = new AgeError('truncated age file (the header is incomplete)');
        this.settle.reject(error);
        throw error;
      }
      if (!this.key) throw new AgeError('truncated age file (no payload nonce)');
      if (this.held.length === 0) throw new AgeError(this.counter === 0 ? 'truncated age file (no payload)' : 'truncated age file (the last chunk is missing)');
      this.openChunk(this.held.length, true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
