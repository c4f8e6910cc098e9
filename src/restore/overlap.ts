import type { ReservedSql, Sql } from 'postgres';
import { quoteIdent } from '../db/ident.js';

/**
 * Checks that run while pg_restore is still working (restore-verify, issue 9). A
 * 1M-booking restore spends most of its time in one statement: the GiST build of
 * booking_allocations' exclusion constraint, on one core, while the other core idles.
 * In that window this runs, on one connection of its own, the checks whose object is
 * already in its final state:
 * - the exact count(*) of a table once one of its indexes is committed (pg_restore
 *   builds an index only after its table's data is loaded and committed, in serial and
 *   parallel restores alike, and a restore never writes a table's rows again);
 * - bt_index_check(index, heapallindexed) of a committed btree index of a table
 *   (not of a materialized view: its REFRESH comes later and rebuilds its indexes).
 * It starts a check only while fewer than `slots` (pg_restore's --jobs) sessions of the
 * restore are running, so it uses the CPU pg_restore leaves idle, and it never holds up
 * the restore: lock_timeout keeps it from queueing behind a
 * pg_restore lock, and a watcher cancels its statement as soon as a pg_restore session
 * waits for a lock it holds (an ALTER TABLE of the same table); the object is retried
 * later. What it could not finish (or finished with any error) is done again after the
 * restore exactly as before, so a check's outcome never depends on this overlap.
 */
export interface OverlapResult {
  /** Exact row counts taken during the restore, by schema.table. */
  counts: Map<string, number>;
  /** btree indexes (regclass text) that passed bt_index_check(..., true) during the restore. */
  checked: Set<string>;
  /** Busy time of the count(*) and bt_index_check statements that finished (ms). */
  countMs: number;
  amcheckMs: number;
  /** Statements cancelled or timed out to let pg_restore go first. */
  yielded: number;
}

interface Work {
  kind: 'count' | 'index';
  key: string;
  sql: string;
  notBefore: number;
}

const LOCK_TIMEOUT = '100ms';
const POLL_MS = 250;
const WATCH_MS = 100;
const RETRY_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function splitTable(key: string): [string, string] {
  const dot = key.indexOf('.');
  return dot < 0 ? ['public', key] : [key.slice(0, dot), key.slice(dot + 1)];
}

export function countStatement(table: string): string {
  const [schema, name] = splitTable(table);
  return `select count(*)::bigint::text as n from ${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** btree indexes the amcheck step checks: valid, not temporary, outside the system schemas. */
export const AMCHECK_INDEXES = `
  select c.oid::regclass::text as index, t.relkind::text as table_kind,
         tn.nspname || '.' || t.relname as table_name, c.relpages::bigint as pages
    from pg_catalog.pg_index i
    join pg_catalog.pg_class c on c.oid = i.indexrelid and c.relkind = 'i'
    join pg_catalog.pg_am a on a.oid = c.relam and a.amname = 'btree'
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_class t on t.oid = i.indrelid
    join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
   where n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema') and n.nspname !~ '^pg_(toast_)?temp_'
     and i.indisvalid and i.indisready and c.relpersistence <> 't'`;

export class RestoreOverlap {
  private readonly result: OverlapResult = { counts: new Map(), checked: new Set(), countMs: 0, amcheckMs: 0, yielded: 0 };
  private readonly queued = new Set<string>();
  private readonly work: Work[] = [];
  private stopping = false;
  private loop?: Promise<void>;
  private amcheckReady = false;

  /**
   * sql: a pool on the scratch database with at least two connections (one runs the
   * checks, one polls and watches). tables: what the manifest counts.
   */
  constructor(private readonly sql: Sql, private readonly tables: ReadonlySet<string>, private readonly slots: number, private readonly signal?: AbortSignal) {}

  /** What is done so far (live; stop() returns the final state). */
  get progress(): Readonly<OverlapResult> {
    return this.result;
  }

  start(): void {
    this.loop = this.run().catch(() => undefined); // any failure here only leaves the work to the steps after the restore
  }

  /** Stops (cancelling a statement in flight) and returns what was done. */
  async stop(): Promise<OverlapResult> {
    this.stopping = true;
    this.inFlight?.cancel();
    await this.loop;
    return this.result;
  }

  private inFlight?: { cancel(): unknown };

  private get done(): boolean {
    return this.stopping || Boolean(this.signal?.aborted);
  }

  private async run(): Promise<void> {
    const conn = await this.sql.reserve();
    try {
      await conn.unsafe(`SET lock_timeout = '${LOCK_TIMEOUT}'; SET statement_timeout = 0`);
      const [{ pid }] = await conn`select pg_catalog.pg_backend_pid() as pid`;
      while (!this.done) {
        await this.discover();
        if (this.work.length > 0 && await this.busy(Number(pid))) { await sleep(POLL_MS); continue; }
        const now = performance.now();
        const next = this.work.findIndex((w) => w.notBefore <= now);
        if (next < 0) { await sleep(POLL_MS); continue; }
        const [w] = this.work.splice(next, 1);
        if (w.kind === 'index' && !this.amcheckReady) {
          // pre-data (CREATE EXTENSION among it) is over once an index exists, so this cannot pre-empt the archive's own amcheck
          await conn`create extension if not exists amcheck with schema pg_catalog`;
          this.amcheckReady = true;
        }
        await this.execute(conn, Number(pid), w);
      }
    } finally {
      conn.release();
    }
  }

  /**
   * True while pg_restore keeps `slots` (its --jobs, the CPU count by default) sessions or
   * parallel workers running in the scratch database: a check started now would take CPU
   * from the restore. The checks use the time when the restore is down to fewer, e.g. one
   * long index build.
   */
  private async busy(checker: number): Promise<boolean> {
    const [row] = await this.sql`
      select count(*)::int as n from pg_catalog.pg_stat_activity
       where datname = pg_catalog.current_database() and state = 'active'
         and pid <> pg_catalog.pg_backend_pid() and pid <> ${checker}::int`;
    return Number(row.n) >= this.slots;
  }

  /** Committed indexes not seen before: their table can be counted, their btree checked. */
  private async discover(): Promise<void> {
    const rows = await this.sql.unsafe(`${AMCHECK_INDEXES} and t.relkind = 'r' order by c.relpages`);
    for (const r of rows) {
      const table = String(r.table_name);
      if (this.tables.has(table) && !this.queued.has(`count:${table}`)) {
        this.queued.add(`count:${table}`);
        this.work.push({ kind: 'count', key: table, sql: countStatement(table), notBefore: 0 });
      }
      const index = String(r.index);
      if (!this.queued.has(`index:${index}`)) {
        this.queued.add(`index:${index}`);
        this.work.push({ kind: 'index', key: index, sql: `select pg_catalog.bt_index_check(${quoteLiteral(index)}::regclass, true)`, notBefore: 0 });
      }
    }
    // counts first (cheap), then the indexes, smallest first
    this.work.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'count' ? -1 : 1));
  }

  private async execute(conn: ReservedSql, pid: number, w: Work): Promise<void> {
    const t = performance.now();
    let yielded = false;
    const watcher = setInterval(() => {
      void this.sql`select 1 from pg_catalog.pg_stat_activity
                     where datname = pg_catalog.current_database() and ${pid}::int = any(pg_catalog.pg_blocking_pids(pid)) limit 1`
        .then((rows) => { if (rows.length > 0 && !yielded) { yielded = true; this.inFlight?.cancel(); } })
        .catch(() => undefined);
    }, WATCH_MS);
    try {
      const q = conn.unsafe(w.sql);
      this.inFlight = q;
      const rows = await q;
      const ms = performance.now() - t;
      if (w.kind === 'count') {
        this.result.counts.set(w.key, Number(rows[0].n));
        this.result.countMs += ms;
      } else {
        this.result.checked.add(w.key);
        this.result.amcheckMs += ms;
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (!this.done && (yielded || code === '55P03' || code === '57014')) {
        // pg_restore needs the table (or holds it): later
        this.result.yielded += 1;
        this.work.push({ ...w, notBefore: performance.now() + RETRY_MS });
      }
      // anything else is left to the step after the restore, which reports it
    } finally {
      clearInterval(watcher);
      this.inFlight = undefined;
    }
  }
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
