import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { createTenant } from '../domain/helpers.js';
import { entries, onlyManifest, pgRestorePath, run } from './helpers.js';

// Encryption at rest: the archive is an age file while it streams out of pg_dump, the
// manifest's checksum is of the encrypted bytes on disk, and Debian's `age` CLI decrypts
// it into an archive pg_restore reads. The backup host needs only the public key.
const db = await createTestDatabase();
const cwd = scratchDir();

describe('bookingdb backup --encrypt-to', { timeout: 180_000 }, () => {
  it("encrypts to two recipients (one from the config file); each key decrypts it with the age CLI and pg_restore --list reads the result", async () => {
    const fx = await createTenant(db.sql, { customers: 3 });
    const keys = await Promise.all([generateX25519Identity(), generateX25519Identity()]);
    const recipients = await Promise.all(keys.map((k) => identityToRecipient(k)));
    const config = join(cwd, 'bookingdb.config.json');
    writeFileSync(config, JSON.stringify({ backup: { dir: 'enc', encryptTo: [recipients[0], recipients[1]] } }));
    const res = await runCli(['backup', '--database-url', db.url, '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const receipt = JSON.parse(res.stdout);
    expect(receipt.encrypted).toBe(true);
    const dir = join(cwd, 'enc');
    const m = await onlyManifest(dir);
    expect(entries(join(dir, m.id))).toEqual(['dump.pgdump.age', 'manifest.json']);
    expect(m.encryption).toEqual({ format: 'age', recipients });
    const file = join(dir, m.id, 'dump.pgdump.age');
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(m.files).toEqual([{ path: 'dump.pgdump.age', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }]);
    expect(bytes.includes(Buffer.from(fx.slug))).toBe(false); // no tenant data in the clear
    for (const [i, key] of keys.entries()) {
      const keyFile = join(cwd, `key-${i}.txt`);
      writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
      const out = join(cwd, `decrypted-${i}.pgdump`);
      await run('age', ['-d', '-i', keyFile, '-o', out, file]);
      expect(readFileSync(out).subarray(0, 5).toString()).toBe('PGDMP');
      const { stdout } = await run(await pgRestorePath(db.sql), ['--list', out]);
      expect(stdout).toMatch(/TABLE DATA booking tenants/);
    }
    // a key it was not encrypted to cannot open it
    const stranger = join(cwd, 'stranger.txt');
    writeFileSync(stranger, `${await generateX25519Identity()}\n`, { mode: 0o600 });
    await expect(run('age', ['-d', '-i', stranger, '-o', join(cwd, 'nope'), file])).rejects.toThrow(/no identity matched/);
  });

  it('refuses a recipient with a bad bech32 checksum, or a secret key, with exit 2 before anything is written', async () => {
    const recipient = await identityToRecipient(await generateX25519Identity());
    const badChecksum = recipient.slice(0, -1) + (recipient.endsWith('q') ? 'p' : 'q');
    const dir = join(cwd, 'bad-recipient');
    const res = await runCli(['backup', '--database-url', db.url, '--dir', dir, '--encrypt-to', recipient, '--encrypt-to', badChecksum], { cwd });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain(`"${badChecksum}" is not a valid age public key: not an age recipient (invalid checksum)`);
    expect(existsSync(dir)).toBe(false);
    const secret = await runCli(['backup', '--database-url', db.url, '--dir', dir, '--encrypt-to', await generateX25519Identity()], { cwd });
    expect(secret.code, secret.stderr).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });
});
