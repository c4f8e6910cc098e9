import type { Sql } from 'postgres';
import { redactLiterals } from '../db/redact-literals.js';

/**
 * Watches who blocks a backend while it waits for a lock, from a second connection,
 * so a lock_timeout can be reported with the blocking pid and query.
 */
export interface Blocker {
  pid: number;
  state: string;
  query: string;
  xactAgeSeconds: number | null;
}

export interface BlockerWatch {
  stop(): Promise<Blocker[]>;
}

export function watchBlockers(sql: Sql, pid: number, intervalMs = 200): BlockerWatch {
  const seen = new Map<number, Blocker>();
  let stopped = false;
  // stop() wakes the sleep at once: a statement that got its lock must not wait out an interval
  let wake: () => void = () => undefined;
  const poll = async () => {
    while (!stopped) {
      try {
        const rows = await sql`
          select a.pid, coalesce(a.state, '') as state, left(coalesce(a.query, ''), 300) as query,
                 extract(epoch from pg_catalog.now() - a.xact_start)::float8 as age
            from pg_catalog.pg_stat_activity a
           where a.pid = any(pg_catalog.pg_blocking_pids(${pid}::int))`;
        for (const r of rows) {
          seen.set(Number(r.pid), { pid: Number(r.pid), state: String(r.state), query: redactLiterals(String(r.query)).text, xactAgeSeconds: r.age === null ? null : Math.round(Number(r.age)) });
        }
      } catch {
        // the watcher is best effort; the deploy's own error is what matters
      }
      if (stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, intervalMs);
        wake = () => { clearTimeout(t); r(); };
      });
    }
  };
  const running = poll();
  return {
    async stop() {
      stopped = true;
      wake();
      await running;
      return [...seen.values()];
    },
  };
}

export function describeBlockers(blockers: Blocker[]): string {
  if (blockers.length === 0) return 'a session that was not identified in time';
  return blockers
    .map((b) => `pid ${b.pid} (${b.state}${b.xactAgeSeconds !== null ? `, transaction open ${b.xactAgeSeconds} s` : ''}): ${b.query.replace(/\s+/g, ' ').trim()}`)
    .join('; ');
}
