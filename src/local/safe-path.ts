import { usageError } from '../errors.js';

/**
 * The characters a path may hold before bookingdb hands it to PostgreSQL's tools.
 *
 * bookingdb starts the server without a shell (src/local/postmaster.ts), but initdb still
 * runs the backend through popen(): the binaries' path goes onto a /bin/sh command line
 * inside double quotes. So every path that reaches a subprocess (the local cluster
 * directory, its data directory and log, the binaries) is checked against a conservative
 * set: letters, digits, space and `_ . / + , @ = : -`. None of these means anything to a
 * shell inside double quotes; `$`, backtick, quotes, backslash, `;`, `|`, `&`, `<`, `>`,
 * `(`, `)`, `*`, `?`, `[`, `]`, `{`, `}`, `!`, `#`, `~`, `%`, control characters and
 * non-ASCII are all refused.
 */
export const SAFE_PATH_CHARACTERS = 'letters, digits, space and _ . / + , @ = : -';

const SAFE = /^[A-Za-z0-9 _./+,@=:-]+$/;

/** The first character of path outside the safe set, or undefined when it is safe. */
export function unsafePathCharacter(path: string): string | undefined {
  if (SAFE.test(path)) return undefined;
  for (const ch of path) if (!SAFE.test(ch)) return ch;
  return path === '' ? '' : undefined;
}

/**
 * Throws a usage error (exit 2) naming the path, the offending character and the allowed
 * set. `what` says which path it is (e.g. "local cluster directory"); `fix` says how to
 * choose another.
 */
export function assertSafePath(what: string, path: string, fix: string): void {
  const ch = unsafePathCharacter(path);
  if (ch === undefined) return;
  const shown = ch === '' ? 'nothing' : /[\x00-\x1f\x7f]/.test(ch) ? `control character ${JSON.stringify(ch)}` : JSON.stringify(ch);
  throw usageError(`the ${what} ${JSON.stringify(path)} contains ${shown}, which bookingdb does not pass to PostgreSQL's tools`,
    `use only ${SAFE_PATH_CHARACTERS} in it; ${fix}`);
}
