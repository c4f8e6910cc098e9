import { lookupPgpass } from './pgpass.js';
import { warnOnce } from './connect-warnings.js';
import type { ConnectionTarget } from './url.js';

/** The libpq variables a parent's environment may hold; a child gets only ours. */
const LIBPQ_VARS = [
  'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSERVICE', 'PGSERVICEFILE', 'PGPASSFILE',
  'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGAPPNAME', 'PGCONNECT_TIMEOUT', 'PGOPTIONS', 'PGTARGETSESSIONATTRS',
];

const PARAM_VARS: Record<string, string> = {
  sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', connect_timeout: 'PGCONNECT_TIMEOUT',
  passfile: 'PGPASSFILE', target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/**
 * The environment for a libpq program (pg_dump, pg_restore, pg_amcheck) that connects where
 * `target` does, to `database`. The password travels in PGPASSWORD (from the URL, else
 * the pgpass file, as connect() finds it), never on the command line where `ps` shows
 * it. `options` is appended to the URL's own `options` as PGOPTIONS (e.g. the restore
 * session's maintenance_work_mem).
 */
export function libpqEnv(target: ConnectionTarget, database: string, options = '', appName = 'bookingdb'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of LIBPQ_VARS) delete env[name];
  env.PGHOST = target.host;
  env.PGPORT = String(target.port);
  env.PGUSER = target.user;
  env.PGDATABASE = database;
  env.PGSSLMODE = target.sslmode;
  env.PGAPPNAME = target.params.application_name || appName;
  for (const [param, name] of Object.entries(PARAM_VARS)) {
    if (target.params[param]) env[name] = target.params[param];
  }
  const password = target.password
    ?? lookupPgpass({ host: target.host, port: target.port, database, user: target.user }, process.env, warnOnce, target.params.passfile);
  if (password !== undefined && password !== '') env.PGPASSWORD = password;
  const pgOptions = [target.params.options, options].filter(Boolean).join(' ');
  if (pgOptions) env.PGOPTIONS = pgOptions;
  return env;
}
