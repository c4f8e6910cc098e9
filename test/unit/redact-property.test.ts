import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactSecrets, redactUrl } from '../../src/db/url.js';
import { seededRandom } from '../../src/bench/offers.js';

/**
 * Property test of the redactor: thousands of random passwords over the whole
 * printable ASCII range, raw and URL-encoded, in URLs that parse and URLs that do
 * not, alone, inside a sentence and inside JSON. The output must be exactly the URL
 * with the userinfo (or just the password) replaced: no part of the password, not
 * even its tail after an `@`, may survive. Seeded, so a failure reproduces.
 */
const random = seededRandom(0xb00c1d6);
const printable = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x20 + Math.floor(random() * 95))).join('');
/** Biased towards the characters that break URL parsing: @ / : ? # % space and quotes. */
const nasty = '@/:?#% "\'\\&=+;[]';
function password(): string {
  const n = 8 + Math.floor(random() * 24);
  let s = '';
  for (let i = 0; i < n; i++) s += random() < 0.3 ? nasty[Math.floor(random() * nasty.length)] : printable(1);
  return s;
}

const HOST = 'db.example.com:5433/app';
const allowed = [`postgres://user:***@${HOST}`, `postgres://***@${HOST}`];

function expectRedacted(out: string, pw: string) {
  expect(out).not.toContain(pw);
  expect(out).not.toContain(encodeURIComponent(pw));
}

describe('redaction cannot leak (property test, seeded)', () => {
  const passwords = Array.from({ length: 3000 }, password);

  it('a password in the userinfo, raw or URL-encoded, never survives redactUrl', () => {
    for (const pw of passwords) {
      for (const url of [`postgres://user:${pw}@${HOST}`, `postgres://user:${encodeURIComponent(pw)}@${HOST}`]) {
        const out = redactUrl(url);
        expect(allowed, `${JSON.stringify(url)} -> ${JSON.stringify(out)}`).toContain(out);
        expectRedacted(out, pw);
      }
    }
  });

  it('nor redactSecrets, inside a sentence and inside JSON (every line of output)', () => {
    for (const pw of passwords) {
      for (const url of [`postgres://user:${pw}@${HOST}`, `postgres://user:${encodeURIComponent(pw)}@${HOST}`]) {
        const sentence = redactSecrets(`error: cannot connect to ${url}: connection refused`);
        expect(allowed.map((a) => `error: cannot connect to ${a}: connection refused`), JSON.stringify(url)).toContain(sentence);
        const json = redactSecrets(JSON.stringify({ target: url, ok: false }, null, 2));
        expectRedacted(json, pw);
        expectRedacted(json, JSON.stringify(pw).slice(1, -1));
        expect(JSON.parse(json).ok).toBe(false);
      }
    }
  });

  it('a malformed URL is an error whose message shows no part of the userinfo', () => {
    let malformed = 0;
    for (const pw of passwords) {
      const url = `postgres://user:${pw}@${HOST}`;
      try {
        parseDatabaseUrl(url);
      } catch (error) {
        malformed++;
        const message = (error as Error).message;
        expect(message, message).not.toContain(pw);
        expect(message).not.toContain('user:');
        // and no tail of it either: what follows scheme:// is *** then the host
        expect(message).toContain(`postgres://***@${HOST}`);
      }
    }
    expect(malformed).toBeGreaterThan(100); // the generator does reach the malformed cases
  });

  it('a URL-encoded password in the query string (?password=) never survives', () => {
    for (const pw of passwords) {
      const url = `postgres://user@${HOST}?sslmode=disable&password=${encodeURIComponent(pw)}`;
      const out = redactUrl(url);
      expectRedacted(out, pw);
      expect(redactSecrets(`cannot connect to ${url}`)).toBe(`cannot connect to postgres://user@${HOST}?sslmode=disable&password=***`);
    }
  });

  it('the examples from the issue', () => {
    expect(redactUrl('postgres://postgres:S3cr/tPW@host/db')).toBe('postgres://***@host/db');
    expect(redactSecrets('malformed database URL: postgres://postgres:S3cr tPW@host/db')).toBe('malformed database URL: postgres://***@host/db');
    expect(redactSecrets('postgres://postgres:S3cr@tPW@host/db')).toBe('postgres://***@host/db');
    expect(redactUrl('postgres://postgres:S3cr@tPW@host/db')).not.toContain('tPW');
  });
});
