import { describe, expect, it } from 'vitest';
import { scramVerifier, generatePassword } from '../../src/roles/scram.js';

describe('SCRAM-SHA-256 verifier', () => {
  it('matches the RFC 7677 test vector', () => {
    // RFC 7677 section 3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const v = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const [, rest] = v.split('$', 2);
    expect(v.startsWith('SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$')).toBe(true);
    expect(rest).toBe('4096:W22ZaJ0SNY7soEsUEjb6gQ==');
    // ServerKey from the RFC's server signature derivation; StoredKey = H(ClientKey).
    expect(v).toBe('SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
  });

  it('never contains the password and salts every call', () => {
    const pw = generatePassword();
    expect(pw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const a = scramVerifier(pw);
    expect(a).not.toContain(pw);
    expect(scramVerifier(pw)).not.toBe(a);
  });
});
