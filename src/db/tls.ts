import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import type { ConnectionTarget } from './url.js';

/**
 * libpq's sslmode (and sslrootcert, sslcert, sslkey, sslpassword) as postgres.js
 * `ssl` options. disable: no TLS; allow and prefer: TLS when the server offers it;
 * require: TLS, certificate not checked (checked against sslrootcert when given, as
 * libpq does); verify-ca: chain checked; verify-full: chain and host name checked.
 * The CA is sslrootcert, else ~/.postgresql/root.crt when present, else Node's
 * bundled CAs; `sslrootcert=system` means the system store with verify-full.
 */
function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw usageError(`cannot read ${key} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `fix the ${key} parameter of the database URL`);
  }
}

export function tlsOptions(t: ConnectionTarget, env: NodeJS.ProcessEnv = process.env): false | 'prefer' | 'require' | Record<string, unknown> {
  const p = t.params;
  const rootcert = p.sslrootcert ?? env.PGSSLROOTCERT;
  let mode: string = t.sslmode;
  if (mode === 'disable') return false;
  if (rootcert === 'system') mode = 'verify-full';
  else if (mode === 'require' && rootcert) mode = 'verify-ca';
  const cert = p.sslcert ?? env.PGSSLCERT;
  const key = p.sslkey ?? env.PGSSLKEY;
  const client: Record<string, unknown> = {};
  if (cert) client.cert = readPem('sslcert', cert);
  if (key) client.key = readPem('sslkey', key);
  if (p.sslpassword) client.passphrase = p.sslpassword;
  const hasClient = Object.keys(client).length > 0;
  if (mode === 'allow' || mode === 'prefer') return hasClient ? { ...client, rejectUnauthorized: false } : 'prefer';
  if (mode === 'require') return hasClient ? { ...client, rejectUnauthorized: false } : 'require';
  const defaultRoot = join(env.HOME || homedir(), '.postgresql', 'root.crt');
  const ca = rootcert && rootcert !== 'system' ? readPem('sslrootcert', rootcert) : rootcert !== 'system' && existsSync(defaultRoot) ? readFileSync(defaultRoot) : undefined;
  return {
    ...client,
    ...(ca ? { ca } : {}),
    rejectUnauthorized: true,
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}
