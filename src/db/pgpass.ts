import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The password file, as libpq reads it: `passfile` (URL or service), else PGPASSFILE,
 * else ~/.pgpass. Lines are hostname:port:database:username:password; `*` matches
 * anything; `\:` and `\\` escape; `#` starts a comment line; the first matching line
 * wins. A file that group or others may read is ignored with libpq's warning. Used
 * only when neither the URL, the service file nor PGPASSWORD gives a password.
 */
export interface PgpassQuery {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** Splits one line into its fields, honouring `\:` and `\\`; undefined for a short line. */
export function splitPgpassLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) field += line[++i];
    else if (c === ':' && fields.length < 4) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields.length === 5 ? fields : undefined;
}

/** The password of the first line that matches, from the file's text. */
export function matchPgpass(text: string, q: PgpassQuery): string | undefined {
  // libpq matches a connection to the default socket directory as "localhost".
  const host = q.host.startsWith('/') ? 'localhost' : q.host;
  const wanted = [host, String(q.port), q.database, q.user];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitPgpassLine(line);
    if (!fields) continue;
    if (wanted.every((w, i) => fields[i] === '*' || fields[i] === w)) return fields[4] === '' ? undefined : fields[4];
  }
  return undefined;
}

/** Which file libpq would read. */
export function pgpassPath(env: NodeJS.ProcessEnv, passfile?: string): string {
  return passfile ?? env.PGPASSFILE ?? join(env.HOME || homedir(), '.pgpass');
}

/** Looks the password up; `warn` receives libpq's permission warning. */
export function lookupPgpass(q: PgpassQuery, env: NodeJS.ProcessEnv, warn: (message: string) => void, passfile?: string): string | undefined {
  const file = pgpassPath(env, passfile);
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) {
      warn(`password file "${file}" is not a plain file`);
      return undefined;
    }
    mode = st.mode;
  } catch {
    return undefined; // no file: nothing to say, like libpq
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warn(`password file "${file}" has group or world access; permissions should be u=rw (0600) or less`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    warn(`cannot read password file "${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  return matchPgpass(text, q);
}
