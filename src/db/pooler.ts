import { lookup } from 'node:dns/promises';
import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { connect, type ConnectOptions } from './connect.js';
import { formatDatabaseUrl, parseDatabaseUrl, type ConnectionTarget } from './url.js';

/**
 * Is this connection served through a transaction-mode pooler (PgBouncer
 * pool_mode=transaction or statement), where a session advisory lock, a session SET or
 * a temp table does not stay with the client? Measured, on the real PgBouncer 1.18:
 *
 * - `shared`: two client connections of ours, used one after the other, were served
 *   by the SAME backend pid. Impossible directly (two live sessions are two backends)
 *   and behind a session-mode pooler (a client keeps its server connection): it
 *   PROVES a transaction-mode pooler. PgBouncer hands the just-released server to the
 *   next client (LIFO), so an idle pool shows it at once; a busy pool may not.
 * - `switched`: one client connection saw two backend pids across statements: also
 *   proof (its session state, advisory locks included, did not survive). A session
 *   SET or lock "not visible in the next transaction" is the same evidence read
 *   another way, and it would leave state on a shared server connection, so the pid
 *   is what is compared.
 * - `proxied`: the server sees itself at another address or port than the one we
 *   connected to (inet_server_addr/port(), or a Unix socket behind a TCP URL):
 *   something is in between (PgBouncer, HAProxy, a container port mapping). Proves a
 *   proxy, not its pool mode. A pooler on the same port of another host that resolves
 *   to the server's address is not seen by this; the two probes above still are.
 * - not used: PgBouncer's own answers (it rejects unknown startup parameters with
 *   08P01 "unsupported startup parameter", and bookingdb's search_path one unless
 *   ignore_startup_parameters lists it) identify PgBouncer but not its pool mode.
 *
 * Rule (conservative): pooled when shared or switched, or when proxied and nobody
 * asserted that the proxy keeps one server session per client
 * (BOOKINGDB_PROXY_MODE=session, e.g. for a Docker port mapping). Proof beats the
 * assertion: a proven transaction pooler is pooled whatever the variable says.
 */
export interface PoolerEvidence {
  /** Where we connected (host of the URL, its port). */
  connectedHost: string;
  connectedPort: number;
  /** The server's own view: inet_server_addr() and inet_server_port(); null over a Unix socket. */
  serverAddr: string | null;
  serverPort: number | null;
  proxied: boolean;
  shared: boolean;
  switched: boolean;
  /** The backend pids seen (client connection 1, then 2, per round). */
  pids: number[];
  pooled: boolean;
  reason: string;
  /** The URL to use instead (the URL's host, the server's own port), redacted; null when not pooled. */
  directUrl: string | null;
}

/** The environment variable that says the proxy in front keeps one server session per client. */
export const PROXY_MODE_ENV = 'BOOKINGDB_PROXY_MODE';

interface Probe {
  pid: number;
  addr: string | null;
  port: number | null;
}

async function probe(conn: Sql): Promise<Probe> {
  const [r] = await conn`select pg_catalog.pg_backend_pid() as pid, pg_catalog.host(pg_catalog.inet_server_addr()) as addr,
                                pg_catalog.inet_server_port() as port`;
  return { pid: Number(r.pid), addr: (r.addr as string | null) ?? null, port: r.port === null ? null : Number(r.port) };
}

function normaliseAddr(a: string): string {
  return a.replace(/^::ffff:/i, '').replace(/\/\d+$/, '').toLowerCase();
}

/** The addresses a host name may mean (a literal address is itself). */
async function addressesOf(host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true })).map((a) => normaliseAddr(a.address));
  } catch {
    return [];
  }
}

function targetOf(sql: Sql): { host: string; port: number; user: string; database: string } {
  const o = sql.options as unknown as { host: string[] | string; port: number[] | number; user: string; database: string };
  return {
    host: Array.isArray(o.host) ? o.host[0] : o.host,
    port: Number(Array.isArray(o.port) ? o.port[0] : o.port),
    user: String(o.user), database: String(o.database),
  };
}

/**
 * Probes the pool `sql` (a few trivial statements, nothing written, nothing left on
 * the server): with room for two connections, the sharing probe over `rounds` rounds;
 * with one, the same-connection probe only. Returns the evidence and the verdict.
 */
export async function detectPooler(sql: Sql, options: { rounds?: number; env?: NodeJS.ProcessEnv } = {}): Promise<PoolerEvidence> {
  const env = options.env ?? process.env;
  const t = targetOf(sql);
  const max = Number((sql.options as { max?: number }).max ?? 1);
  const a = await sql.reserve();
  const b = max >= 2 ? await sql.reserve() : undefined;
  const pids: number[] = [];
  let first: Probe | undefined;
  let sharedPid: number | undefined;
  const seenByA = new Set<number>();
  try {
    for (let i = 0; i < (options.rounds ?? 3); i++) {
      const pa = await probe(a as unknown as Sql);
      first ??= pa;
      pids.push(pa.pid);
      seenByA.add(pa.pid);
      if (b) {
        const pb = await probe(b as unknown as Sql);
        pids.push(pb.pid);
        if (pb.pid === pa.pid) sharedPid = pa.pid;
      }
    }
  } finally {
    a.release();
    b?.release();
  }
  const p = first!;
  const socket = t.host.startsWith('/');
  let proxied: boolean;
  if (socket) proxied = p.addr !== null || (p.port !== null && p.port !== t.port);
  else proxied = p.addr === null || p.port !== t.port || !(await addressesOf(t.host)).includes(normaliseAddr(p.addr));
  const shared = sharedPid !== undefined;
  const switched = seenByA.size > 1;
  const assumedSession = String(env[PROXY_MODE_ENV] ?? '').toLowerCase() === 'session';
  const pooled = shared || switched || (proxied && !assumedSession);
  const where = socket ? `${t.host}/.s.PGSQL.${t.port}` : `${t.host}:${t.port}`;
  const self = p.addr === null ? 'a Unix-socket connection' : `${p.addr}:${p.port}`;
  const reason = shared
    ? `two client connections were served by the same server process (pid ${sharedPid}): a transaction-mode pooler (PgBouncer) shares server connections`
    : switched
      ? `one client connection was served by server processes ${[...seenByA].join(', ')}: a transaction-mode pooler moves it between server connections`
      : proxied
        ? `connected to ${where}, but the server sees ${self}: a proxy or pooler is in between, and it cannot be proven to keep one server session per client${assumedSession ? '' : ` (set ${PROXY_MODE_ENV}=session if it does)`}`
        : 'direct: the server sees the address and port connected to, and each client connection kept its own server process';
  const directUrl = pooled
    ? formatDatabaseUrl({ host: t.host, port: p.port ?? 5432, user: t.user, database: t.database, params: {} }, { redact: true })
    : null;
  return { connectedHost: t.host, connectedPort: t.port, serverAddr: p.addr, serverPort: p.port, proxied, shared, switched, pids, pooled, reason, directUrl };
}

/**
 * For deploy, migrate and maintain: exit 4 when `sql` goes through a transaction-mode
 * pooler (see detectPooler), naming the direct URL. They serialise on session advisory
 * locks, which a pooler does not keep with the client: two runs would both "hold" the
 * lock on one shared server connection (the PgBouncer test shows it), and the lock
 * could be left on a server connection that other clients then use.
 */
export async function refuseThroughPooler(sql: Sql, command: string): Promise<void> {
  const e = await detectPooler(sql);
  if (!e.pooled) return;
  const port = e.serverPort === null
    ? 'the server sees a Unix-socket connection, so its own port is not visible: use the PostgreSQL port of the database host (5432 by default)'
    : `the server's own port is ${e.serverPort}`;
  throw new BookingDbError('pooler', `${command} needs a direct connection to PostgreSQL, not a transaction-mode pooler: ${e.reason}`, {
    exitCode: ExitCode.precondition,
    hint: `its session advisory lock does not hold through the pooler; connect directly, e.g. --database-url ${e.directUrl} (${port})`,
    details: { pooler: e },
  });
}

/** connect() followed by refuseThroughPooler(); the pool is closed when it refuses. */
export async function connectDirect(url: string | ConnectionTarget, options: ConnectOptions, command: string): Promise<Sql> {
  const t = typeof url === 'string' ? parseDatabaseUrl(url) : url;
  const sql = await connect(t, { ...options, max: Math.max(2, options.max ?? 2) });
  try {
    await refuseThroughPooler(sql, command);
    return sql;
  } catch (error) {
    await sql.end({ timeout: 5 });
    throw error;
  }
}
