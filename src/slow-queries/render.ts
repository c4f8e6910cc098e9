import type { SlowQueriesReport, SlowStatement, SortKey } from './slow-queries.js';

/**
 * The table view of a slow-queries report. Query text is collapsed to one line and
 * truncated to `width` characters (the full normalised text is in --json).
 */
export type TableRenderer = (head: string[], rows: (string | number | null | undefined)[][]) => Promise<string>;

const TITLES: Record<SortKey, string> = {
  total: 'by total execution time',
  mean: 'by mean execution time',
  calls: 'by calls',
};

/** One line of at most `width` characters, whitespace collapsed, with an ellipsis when cut. */
export function shortenQuery(text: string, width = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

function fixed(x: number, digits: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pct(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)}%`;
}

function row(s: SlowStatement, width: number): (string | number)[] {
  return [s.grade, fixed(s.calls, 0), fixed(s.totalMs, 1), fixed(s.meanMs, 2), fixed(s.maxMs, 2), fixed(s.rows, 0), pct(s.hitRatio), pct(s.share), shortenQuery(s.query, width)];
}

/** Header line, then one table per list, then the grades' reasons for the graded C or worse. */
export async function renderSlowQueries(report: SlowQueriesReport, table: TableRenderer, width = 60): Promise<string> {
  const since = report.statsSince ? `since ${report.statsSince}` : 'since the server started counting';
  const parts = [
    `pg_stat_statements ${report.extension.version} in database ${report.database}, ${since}: ` +
      `${report.databaseStatements} statements, ${fixed(report.databaseTotalMs / 1000, 1)} s total execution time` +
      (report.evicted ? ` (${report.evicted} evicted: raise pg_stat_statements.max)` : ''),
  ];
  const filter = report.minMs > 0 ? `, mean >= ${report.minMs} ms` : '';
  for (const list of report.lists) {
    parts.push('', `top ${report.limit} ${TITLES[list.sort]}${filter}:`);
    if (list.statements.length === 0) {
      parts.push('  none');
      continue;
    }
    parts.push(await table(['grade', 'calls', 'total ms', 'mean ms', 'max ms', 'rows', 'hit', 'share', 'query'], list.statements.map((s) => row(s, width))));
  }
  const seen = new Set<string>();
  const poor = report.lists.flatMap((l) => l.statements).filter((s) => 'CDF'.includes(s.grade) && !seen.has(s.queryid) && seen.add(s.queryid));
  if (poor.length) {
    parts.push('', 'why C or worse:');
    for (const s of poor) parts.push(`  ${s.grade} ${shortenQuery(s.query, 40)}: ${s.gradeReason}`);
  }
  return parts.join('\n');
}
