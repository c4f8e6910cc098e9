import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError, isPgError } from '../errors.js';
import { listSqlFiles, renderRoles } from '../sql-files.js';
import { paths } from '../paths.js';

/**
 * Post-deploy verification: each file in sql/verify/ is one SELECT returning a row
 * per violation (column `violation`); the file name is the check's name.
 */
export interface VerifyResult {
  check: string;
  status: 'ok' | 'failed';
  violations: string[];
}

export async function runVerification(conn: Sql | ReservedSql, rolePrefix: string, dir = paths.verify): Promise<VerifyResult[]> {
  const files = await listSqlFiles(dir);
  const results: VerifyResult[] = [];
  for (const f of files) {
    const check = f.name.replace(/\.sql$/, '');
    let rows;
    try {
      rows = await conn.unsafe(renderRoles(f.text, rolePrefix));
    } catch (error) {
      if (isPgError(error)) {
        results.push({ check, status: 'failed', violations: [`the check itself failed: ${error.message} (${error.code})`] });
        continue;
      }
      throw error;
    }
    const violations = rows.map((r) => String((r as { violation?: unknown }).violation ?? JSON.stringify(r)));
    results.push({ check, status: violations.length ? 'failed' : 'ok', violations });
  }
  return results;
}

/** Throws exit 1 naming each violation when any check failed. */
export function assertVerified(results: VerifyResult[]): void {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0) return;
  const lines = failed.flatMap((r) => r.violations.map((v) => `  ${r.check}: ${v}`));
  throw new BookingDbError('verification_failed', `post-deploy verification failed (${lines.length} violation${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    hint: 'the deploy was rolled back; fix the SQL and deploy again',
    details: { verification: results },
  });
}
