import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { baseFromSnapshot, collectSnapshot, type CollectOptions, type CounterBase } from './collect.js';
import type { TenantLabels } from './defaults.js';
import { renderPrometheus } from './render.js';

/**
 * `metrics serve`: a Prometheus scrape endpoint on node:http. GET /metrics answers the
 * Prometheus text of the newest snapshot, /healthz `ok` (503 when the database round
 * failed); anything else is 404. A scrape within cacheSeconds of the last database
 * round is answered from it, and scrapes that arrive while a round runs wait for that
 * round, so a burst of scrapes costs one round. A failed round is cached the same way.
 * The booking counters chain from round to round in memory (the first one continues
 * from the newest stored snapshot), so they only grow while the process lives.
 */
export interface ServeOptions {
  host: string;
  port: number;
  cacheSeconds: number;
  tenantLabels: TenantLabels;
  collect: CollectOptions;
  /** Told about each failed round (the CLI logs it to stderr). */
  onRoundError?: (error: unknown) => void;
}

export interface MetricsServer {
  url: string;
  port: number;
  /** Database rounds so far (also exposed as bookingdb_exporter_rounds_total). */
  rounds(): number;
  close(): Promise<void>;
}

interface Round {
  at: number;
  text?: string;
  error?: string;
}

export async function startMetricsServer(sql: Sql, options: ServeOptions): Promise<MetricsServer> {
  let rounds = 0;
  let base: CounterBase | undefined;
  let last: Round | undefined;
  let inflight: Promise<Round> | undefined;

  async function runRound(): Promise<Round> {
    rounds += 1;
    try {
      const snapshot = await collectSnapshot(sql, options.collect, base);
      base = baseFromSnapshot(snapshot, null);
      const text = await renderPrometheus(snapshot, {
        tenantLabels: options.tenantLabels,
        extra: [{ name: 'bookingdb_exporter_rounds_total', type: 'counter', help: 'Database rounds this `bookingdb metrics serve` process has made.', value: rounds }],
      });
      return { at: Date.now(), text };
    } catch (error) {
      options.onRoundError?.(error);
      return { at: Date.now(), error: error instanceof Error ? error.message : String(error) };
    }
  }

  function current(): Promise<Round> {
    if (last && Date.now() - last.at < options.cacheSeconds * 1000) return Promise.resolve(last);
    if (!inflight) {
      inflight = runRound().then((r) => {
        last = r;
        inflight = undefined;
        return r;
      });
    }
    return inflight;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const round = await current();
    if (round.error !== undefined) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`database round failed: ${round.error}\n`);
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : round.text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL'
        ? new BookingDbError('port_unavailable', `cannot listen on ${options.host}:${options.port}: ${error.code}`, {
          exitCode: ExitCode.precondition, hint: 'pick another --port or stop what listens there', cause: error,
        })
        : error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    rounds: () => rounds,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(async () => {
        await inflight?.catch(() => undefined);
      });
      return closing;
    },
  };
}
