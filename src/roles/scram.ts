import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * SCRAM-SHA-256 verifiers computed client-side (RFC 5802/7677, as PostgreSQL stores
 * them), so ALTER ROLE ... PASSWORD never carries the plaintext to the server, its
 * logs or pg_stat_statements.
 */
export const SCRAM_ITERATIONS = 4096;

export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    // Generated passwords are printable ASCII, for which SASLprep is the identity.
    throw new Error('password must be printable ASCII without spaces');
  }
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** 32 random bytes, base64url: 43 characters, no quoting problems anywhere. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}
