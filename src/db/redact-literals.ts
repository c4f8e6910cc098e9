/**
 * Replaces every constant left in a statement's text with `$n`, as pg_stat_statements'
 * own normalisation does, so slow-queries never prints a value.
 *
 * pg_stat_statements normalises a statement only when it makes the entry at parse time.
 * It keeps the raw text when the entry is made at the end of execution instead (the
 * entry was evicted because the table was full, or reset, while the statement ran), and
 * in utility statements, which PostgreSQL 15 does not normalise at all: `ALTER ROLE ...
 * PASSWORD '...'`, `COPY ... FROM PROGRAM '...'`, `SET ... = '...'`. Those values can be
 * customers' e-mail addresses and passwords.
 *
 * A small lexer of PostgreSQL's token rules: string constants (`'...'` with `''`,
 * `E'...'` with backslash escapes, `B'..'`, `X'..'`, `N'..'`, `U&'..'`, adjacent parts),
 * dollar-quoted strings, and numeric constants become `$n`, numbered after the highest
 * parameter already in the text (what PostgreSQL does). Identifiers (also quoted ones),
 * parameters, operators and comments stay as they are, and so does everything in
 * already-normalised text, which holds no constants. `redacted` counts the replacements.
 */
export interface RedactedText {
  text: string;
  redacted: number;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
// sticky (y): each matches at lastIndex only, without copying the rest of the text
const CONTINUATION = /[ \t\f\r]*\n\s*'/y;
const NUMBER = /(?:0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?)/y;
const PARAMETER = /\$[0-9]+/y;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** `re` (sticky) matched at position `i` of `s`, or null. */
function matchAt(re: RegExp, s: string, i: number): string | null {
  re.lastIndex = i;
  const m = re.exec(s);
  return m ? m[0] : null;
}

/** End (exclusive) of a quoted run starting at `open` (the opening quote), honouring doubled quotes. */
function quotedEnd(s: string, open: number, quote: string, backslash: boolean): number {
  let i = open + 1;
  while (i < s.length) {
    const c = s[i];
    if (backslash && c === '\\') { i += 2; continue; }
    if (c === quote) {
      if (s[i + 1] === quote) { i += 2; continue; }
      return i + 1;
    }
    i++;
  }
  return s.length; // unterminated (a truncated text): the rest is the constant
}

/** After a string constant, PostgreSQL joins a following one separated by whitespace with a newline. */
function continuedString(s: string, end: number): number {
  const m = matchAt(CONTINUATION, s, end);
  return m ? end + m.length - 1 : -1;
}

/** End of a string constant whose opening quote is at `open`, adjacent continuations included. */
function stringEnd(s: string, open: number, backslash: boolean): number {
  let end = quotedEnd(s, open, "'", backslash);
  for (let next = continuedString(s, end); next >= 0; next = continuedString(s, end)) end = quotedEnd(s, next, "'", backslash);
  return end;
}

/** End of a numeric constant at `i` (decimal, exponent, 0x/0o/0b and `_` separators of PostgreSQL 16). */
function numberEnd(s: string, i: number): number {
  const m = matchAt(NUMBER, s, i);
  return i + (m ? m.length : 1);
}

/** End of a comment starting at `i` (`--` to the line's end, or nested block comments), or -1. */
function commentEnd(s: string, i: number): number {
  if (s.startsWith('--', i)) {
    const nl = s.indexOf('\n', i);
    return nl < 0 ? s.length : nl;
  }
  if (!s.startsWith('/*', i)) return -1;
  let depth = 0;
  let j = i;
  while (j < s.length) {
    if (s.startsWith('/*', j)) { depth++; j += 2; } else if (s.startsWith('*/', j)) { depth--; j += 2; if (depth === 0) return j; } else j++;
  }
  return s.length;
}

/** The highest `$n` parameter in the text (0 when none): new numbers continue after it. */
function highestParameter(s: string): number {
  let max = 0;
  for (const m of s.matchAll(/\$([0-9]+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** See the module comment. */
export function redactLiterals(query: string): RedactedText {
  const s = query;
  let next = highestParameter(s);
  let out = '';
  let redacted = 0;
  let i = 0;
  const constant = (end: number) => { out += `$${++next}`; redacted++; i = end; };
  while (i < s.length) {
    const c = s[i];
    const comment = commentEnd(s, i);
    if (comment >= 0) { out += s.slice(i, comment); i = comment; continue; }
    if (c === "'") { constant(stringEnd(s, i, false)); continue; }
    if (c === '"') { const end = quotedEnd(s, i, '"', false); out += s.slice(i, end); i = end; continue; }
    if (c === '$') {
      const param = matchAt(PARAMETER, s, i);
      if (param) { out += param; i += param.length; continue; }
      const tag = matchAt(DOLLAR_TAG, s, i);
      if (tag) {
        const close = s.indexOf(tag, i + tag.length);
        constant(close < 0 ? s.length : close + tag.length);
        continue;
      }
      out += c; i++; continue;
    }
    if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < s.length && IDENT_CHAR.test(s[end])) end++;
      const word = s.slice(i, end);
      if (s[end] === "'" && /^[eEbBxXnN]$/.test(word)) { constant(stringEnd(s, end, /^[eE]$/.test(word))); continue; }
      if (/^[uU]$/.test(word) && s.startsWith("&'", end)) { constant(stringEnd(s, end + 1, false)); continue; }
      if (/^[uU]$/.test(word) && s.startsWith('&"', end)) { const q = quotedEnd(s, end + 1, '"', false); out += s.slice(i, q); i = q; continue; }
      out += word; i = end; continue;
    }
    if (DIGIT.test(c) || (c === '.' && DIGIT.test(s[i + 1] ?? ''))) { constant(numberEnd(s, i)); continue; }
    out += c; i++;
  }
  return { text: out, redacted };
}
