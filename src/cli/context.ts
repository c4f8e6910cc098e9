import { describeUrlSource, loadConfigFile, resolveSettings, type ConfigFile, type Settings } from '../config.js';
import { BookingDbError, usageError } from '../errors.js';
import { formatDatabaseUrl, parseDatabaseUrl, redactUrl, type ConnectionTarget } from '../db/url.js';
import { setConnectionWarnings } from '../db/connect-warnings.js';
import { Output } from './output.js';

/**
 * What every command gets: resolved settings, the output channel, and the target
 * database (the configured one, else the embedded local cluster, started on demand).
 */
export interface GlobalOptions {
  databaseUrl?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
  yes?: boolean;
  config?: string;
  connectTimeout?: string;
  rolePrefix?: string;
}

export interface Target {
  /** The target formatted back into a URL (what the cores take). */
  url: string;
  redacted: string;
  local: boolean;
  database: string;
  /** The URL parsed once: host, port, user, database (decoded), TLS mode, parameters. */
  connection: ConnectionTarget;
}

export interface Context {
  settings: Settings;
  out: Output;
  yes: boolean;
  cwd: string;
  /** True when prompts are possible: stdin and stdout are TTYs and --yes/--json not given. */
  canPrompt: boolean;
  target(options?: { database?: string }): Promise<Target>;
  /** The validated config file ({} when there is none): the command sections (healthCheck, metrics, ...). */
  config: ConfigFile;
}

export async function createContext(global: GlobalOptions, extra: { lockWait?: string; lockTimeout?: string; port?: string } = {}): Promise<Context> {
  const out = new Output({ json: global.json, quiet: global.quiet, color: global.color, debug: global.debug });
  await out.init();
  const cwd = process.cwd();
  setConnectionWarnings((m) => out.warn(m));
  const { file, path } = await loadConfigFile(global.config, cwd);
  const settings = resolveSettings(
    { databaseUrl: global.databaseUrl, rolePrefix: global.rolePrefix, connectTimeout: global.connectTimeout, lockWait: extra.lockWait, lockTimeout: extra.lockTimeout, port: extra.port },
    process.env,
    file,
    path,
  );
  // A malformed URL or a bad parameter: exit 2 before anything else, naming where it came from.
  let configured: ConnectionTarget | undefined;
  if (settings.databaseUrl) {
    try {
      configured = parseDatabaseUrl(settings.databaseUrl);
    } catch (error) {
      if (error instanceof BookingDbError) throw usageError(`${error.message} (from ${describeUrlSource(settings)})`, error.hint);
      throw error;
    }
  }
  const yes = Boolean(global.yes);
  return {
    settings,
    config: file,
    out,
    yes,
    cwd,
    canPrompt: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !yes && !global.json,
    async target(options = {}) {
      if (configured) {
        const connection = options.database ? { ...configured, database: options.database } : configured;
        const url = formatDatabaseUrl(connection);
        return { url, redacted: formatDatabaseUrl(connection, { redact: true }), local: false, database: connection.database, connection };
      }
      const { localCluster, startLocal, localUrl, LOCAL_DATABASE } = await import('../local/cluster.js');
      const cluster = localCluster(cwd, settings.localDir, settings.localPort, (m) => out.info(m));
      const status = await startLocal(cluster);
      // dataDir, not cluster.dir: as root the data may have been relocated to /var/lib/bookingdb
      if (status.started) out.info(`no database configured: started the local cluster on 127.0.0.1:${status.port} (data in ${status.dataDir})`);
      else out.info(`no database configured: using the local cluster on 127.0.0.1:${status.port}`);
      const url = await localUrl(cluster, options.database ?? LOCAL_DATABASE);
      const connection = parseDatabaseUrl(url);
      return { url, redacted: redactUrl(url), local: true, database: connection.database, connection };
    },
  };
}
