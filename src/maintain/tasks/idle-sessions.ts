import { BookingDbError, isPgError } from '../../errors.js';
import { MAINTAIN_DEFAULTS } from '../defaults.js';
import { MAINTAIN_LOCK_KEY } from '../locks.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';
import { redactLiterals } from '../../db/redact-literals.js';

export interface IdleSession {
  pid: number;
  user: string;
  applicationName: string;
  state: string;
  /** Seconds since the session went idle in transaction (pg_stat_activity.state_change). */
  idleSeconds: number;
  /** Seconds since its transaction began. */
  transactionSeconds: number | null;
  /** The first 60 characters of its last statement. */
  query: string;
  terminated?: boolean;
  reason?: string;
}

/**
 * Client sessions of this database idle in transaction (aborted ones too) for at least
 * `thresholdSeconds`: they hold their locks and snapshot (which keeps VACUUM from
 * removing dead tuples) while doing nothing. Never this session, nor the one holding
 * the maintain lock (this maintain's own), nor another database's. Statement text is
 * cut to 60 characters.
 */
async function findIdleSessions(ctx: MaintainTaskContext, thresholdSeconds: number): Promise<IdleSession[]> {
  const classid = Number(MAINTAIN_LOCK_KEY >> 32n);
  const objid = Number(MAINTAIN_LOCK_KEY & 0xffffffffn);
  const rows = await ctx.sql`
    select a.pid, coalesce(a.usename::text, '') as usename, coalesce(a.application_name, '') as app, a.state,
           extract(epoch from pg_catalog.clock_timestamp() - a.state_change)::float8 as idle,
           extract(epoch from pg_catalog.clock_timestamp() - a.xact_start)::float8 as xact,
           left(coalesce(a.query, ''), 60) as query
      from pg_catalog.pg_stat_activity a
     where a.datname = pg_catalog.current_database() and a.backend_type = 'client backend'
       and a.state in ('idle in transaction', 'idle in transaction (aborted)')
       and a.pid <> pg_catalog.pg_backend_pid()
       and a.state_change <= pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => ${thresholdSeconds}::float8)
       and not exists (select 1 from pg_catalog.pg_locks l
                        where l.pid = a.pid and l.locktype = 'advisory' and l.granted
                          and l.classid = ${classid} and l.objid = ${objid} and l.objsubid = 1)
     order by a.state_change, a.pid`;
  return rows.map((r) => ({
    pid: Number(r.pid), user: String(r.usename), applicationName: String(r.app), state: String(r.state),
    idleSeconds: Math.round(Number(r.idle)), transactionSeconds: r.xact === null ? null : Math.round(Number(r.xact)), query: redactLiterals(String(r.query)).text,
  }));
}

function describe(s: IdleSession): string {
  return `pid ${s.pid} (${s.user}, ${s.applicationName || 'no application_name'}, ${s.state} for ${s.idleSeconds} s): ${s.query.replace(/\s+/g, ' ').trim()}`;
}

/**
 * `idle-sessions` (opt-in: only with --only idle-sessions): pg_terminate_backend of the
 * sessions found by findIdleSessions, each named in the detail (pid, user,
 * application_name, how long idle, the query's first 60 characters). A session that
 * ended or left the idle state meanwhile is reported as gone; one this role may not
 * signal (a superuser's, without being superuser) as not permitted. The dry run lists
 * them and terminates nothing.
 */
async function runIdleSessions(ctx: MaintainTaskContext): Promise<Record<string, unknown>> {
  const o = ctx.options as { idleThresholdSeconds?: number };
  const thresholdSeconds = o.idleThresholdSeconds ?? MAINTAIN_DEFAULTS.idleSessions.idleThresholdSeconds;
  const found = await findIdleSessions(ctx, thresholdSeconds);
  if (ctx.dryRun) return { dryRun: true, thresholdSeconds, wouldTerminate: found.map(describe), sessions: found };
  const sessions: IdleSession[] = [];
  for (const s of found) {
    try {
      // terminate only if it is still idle in transaction: it may have moved on since it was read
      const [r] = await ctx.sql`
        select pg_catalog.pg_terminate_backend(a.pid) as ok from pg_catalog.pg_stat_activity a
         where a.pid = ${s.pid} and a.state in ('idle in transaction', 'idle in transaction (aborted)')`;
      sessions.push({ ...s, terminated: Boolean(r?.ok), ...(r ? {} : { reason: 'no longer idle in transaction' }) });
      ctx.progress(`${r?.ok ? 'terminated' : 'left'} ${describe(s)}`);
    } catch (error) {
      if (!(isPgError(error) && error.code === '42501')) throw error;
      sessions.push({ ...s, terminated: false, reason: `not permitted: ${error.message}` });
    }
  }
  const refused = sessions.filter((s) => s.reason?.startsWith('not permitted'));
  const detail = { thresholdSeconds, terminated: sessions.filter((s) => s.terminated).map(describe), sessions };
  if (refused.length > 0) {
    throw new BookingDbError('idle_sessions_refused', `idle-sessions: could not terminate ${refused.map(describe).join('; ')}`, {
      hint: 'run maintain as a superuser or a member of pg_signal_backend', details: detail,
    });
  }
  return detail;
}

export const idleSessionsTask: MaintainTask = {
  name: 'idle-sessions',
  description: 'terminate sessions idle in transaction longer than maintain.idleSessions.idleThresholdSeconds (opt-in: --only idle-sessions)',
  defaultEnabled: false,
  run: runIdleSessions,
};
