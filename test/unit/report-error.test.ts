import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportError } from '../../src/cli/main.js';

/** reportError is main's single catch: what reaches it is printed as one line with a documented exit code. */
function report(error: unknown, json = false) {
  let stderr = '';
  let stdout = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { stderr += String(s); return true; });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { stdout += String(s); return true; });
  try {
    const code = reportError(error, false, json);
    return { code, stderr, stdout };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

describe('"this is a bug" only for real bugs', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a server error with a SQLSTATE is one clear line with its detail, exit 1', () => {
    const pg = Object.assign(new Error('permission denied for schema ops'), { name: 'PostgresError', code: '42501', severity: 'ERROR', detail: undefined });
    const r = report(pg);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: the server refused: permission denied for schema ops \(SQLSTATE 42501\)\nhint: connect as a role/);
    expect(r.stderr).not.toMatch(/bug/);
  });

  it('a dropped connection is exit 3; a file the OS refused is one line naming the path', () => {
    expect(report(Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' })).code).toBe(3);
    expect(report(Object.assign(new Error('terminating connection due to administrator command'), { name: 'PostgresError', code: '57P01', severity: 'FATAL' })).code).toBe(3);
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/root/x.pw'"), { code: 'EACCES', syscall: 'open', path: '/root/x.pw', errno: -13 });
    const r = report(eacces, true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot open \/root\/x\.pw: permission denied \(EACCES\)$/m);
    expect(r.stderr).not.toMatch(/bug/);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'file_error' });
  });

  it('anything else is a bug, and says so (also in --json)', () => {
    const r = report(new TypeError("Cannot read properties of undefined (reading 'x')"), true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/this is a bug in bookingdb/);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('never prints a password, even inside an unexpected error', () => {
    const r = report(new Error('boom postgres://u:S3cr/t PW@h/db'), true);
    expect(r.stderr + r.stdout).not.toMatch(/S3cr|t PW/);
  });
});
