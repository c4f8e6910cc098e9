import { loadConfigFile, resolveSettings, type Settings } from '../config.js';
import { parseDatabaseUrl, redactUrl, withDatabase } from '../db/url.js';
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
  url: string;
  redacted: string;
  local: boolean;
  database: string;
}

export interface Context {
  settings: Settings;
  out: Output;
  yes: boolean;
  cwd: string;
  /** True when prompts are possible: stdin and stdout are TTYs and --yes/--json not given. */
  canPrompt: boolean;
  target(options?: { database?: string }): Promise<Target>;
}

export async function createContext(global: GlobalOptions, extra: { lockWait?: string; lockTimeout?: string; port?: string } = {}): Promise<Context> {
  const out = new Output({ json: global.json, quiet: global.quiet, color: global.color, debug: global.debug });
  await out.init();
  const cwd = process.cwd();
  const { file, path } = loadConfigFile(global.config, cwd);
  const settings = resolveSettings(
    { databaseUrl: global.databaseUrl, rolePrefix: global.rolePrefix, connectTimeout: global.connectTimeout, lockWait: extra.lockWait, lockTimeout: extra.lockTimeout, port: extra.port },
    process.env,
    file,
    path,
  );
  if (settings.databaseUrl) parseDatabaseUrl(settings.databaseUrl); // malformed: exit 2 before anything else
  const yes = Boolean(global.yes);
  return {
    settings,
    out,
    yes,
    cwd,
    canPrompt: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !yes && !global.json,
    async target(options = {}) {
      if (settings.databaseUrl) {
        const url = options.database ? withDatabase(settings.databaseUrl, options.database) : settings.databaseUrl;
        return { url, redacted: redactUrl(url), local: false, database: parseDatabaseUrl(url).database };
      }
      const { localCluster, startLocal, localUrl, LOCAL_DATABASE } = await import('../local/cluster.js');
      const cluster = localCluster(cwd, settings.localDir, settings.localPort);
      const status = await startLocal(cluster);
      if (status.started) out.info(`no database configured: started the local cluster on 127.0.0.1:${status.port} (${cluster.dir})`);
      else out.info(`no database configured: using the local cluster on 127.0.0.1:${status.port}`);
      const url = await localUrl(cluster, options.database ?? LOCAL_DATABASE);
      return { url, redacted: redactUrl(url), local: true, database: options.database ?? LOCAL_DATABASE };
    },
  };
}
