/**
 * The one way identifiers reach SQL text: double-quoted, embedded quotes doubled.
 * Values never go through here; they are always query parameters.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty identifier');
  if (name.includes('\0')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal for the few statements that cannot take parameters (e.g. ALTER ROLE ... PASSWORD). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
