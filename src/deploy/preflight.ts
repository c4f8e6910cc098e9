import type { Sql } from 'postgres';
import { preconditionError } from '../errors.js';
import { isLocalHost, parseDatabaseUrl } from '../db/url.js';
import { planGroupRoles, roleName } from './group-roles.js';

/**
 * Checks that must pass before deploy changes anything. Hard failures are exit 4;
 * soft findings come back as warnings.
 */
export const REQUIRED_EXTENSIONS = ['btree_gist', 'pg_trgm', 'pgcrypto', 'pg_stat_statements'];

export interface PreflightResult {
  serverVersion: string;
  serverVersionNum: number;
  superuser: boolean;
  warnings: string[];
  missingExtensions: string[];
}

export async function preflight(sql: Sql, url: string, rolePrefix = 'bookingdb'): Promise<PreflightResult> {
  const [info] = await sql`
    select pg_catalog.current_setting('server_version') as version,
           pg_catalog.current_setting('server_version_num')::int as num,
           r.rolsuper,
           -- readable only by superusers and pg_read_all_settings members; NULL = unknown
           case when r.rolsuper or pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')
                then pg_catalog.current_setting('shared_preload_libraries') end as preload,
           coalesce((select s.ssl from pg_catalog.pg_stat_ssl s where s.pid = pg_catalog.pg_backend_pid()), false) as ssl
      from pg_catalog.pg_roles r where r.rolname = current_user`;
  const num = Number(info.num);
  if (num < 150000) {
    throw preconditionError('server_too_old', `PostgreSQL ${info.version} is too old: bookingdb needs 15 or newer`, 'upgrade the server (pg_upgrade), or point --database-url at a 15+ server');
  }
  const available = await sql`select name from pg_catalog.pg_available_extensions where name = any(${REQUIRED_EXTENSIONS})`;
  const have = new Set(available.map((r) => String(r.name)));
  const missing = REQUIRED_EXTENSIONS.filter((e) => !have.has(e));
  if (missing.length) {
    throw preconditionError('extension_unavailable', `required extension${missing.length > 1 ? 's' : ''} not available on the server: ${missing.join(', ')}`,
      'install the PostgreSQL contrib package for this server version (e.g. postgresql-contrib)');
  }
  const installed = await sql`select extname from pg_catalog.pg_extension where extname = any(${REQUIRED_EXTENSIONS})`;
  const installedSet = new Set(installed.map((r) => String(r.extname)));
  const missingExtensions = REQUIRED_EXTENSIONS.filter((e) => !installedSet.has(e));
  if (!info.rolsuper) {
    // Without superuser, deploy can only upgrade a database whose roles and
    // extensions are in place, as a member of the owner role (SET ROLE owner).
    const roleChanges = await planGroupRoles(sql, rolePrefix);
    const owner = roleName(rolePrefix, 'owner');
    // Deploy works by SET ROLE owner. From PostgreSQL 16 a membership can be granted
    // WITH SET FALSE: still a MEMBER, but SET ROLE fails midway; ask for SET there.
    const privilege = num >= 160000 ? 'SET' : 'MEMBER';
    const [m] = await sql`select exists (select 1 from pg_catalog.pg_roles where rolname = ${owner})
                                 and pg_catalog.pg_has_role(current_user, ${owner}, ${privilege}) as member`;
    const needs = [
      missingExtensions.length ? `create the extensions ${missingExtensions.join(', ')}` : '',
      roleChanges.length ? `create or fix the group roles (${[...new Set(roleChanges.map((c) => c.role))].join(', ')}; BYPASSRLS needs a superuser)` : '',
      !m.member ? `act as ${owner} (not a member${num >= 160000 ? ' with the SET option' : ''})` : '',
    ].filter(Boolean);
    if (needs.length) {
      throw preconditionError('insufficient_privilege', `the connecting role is not a superuser and cannot ${needs.join('; ')}`,
        `run the first deploy as a superuser; later deploys can use a login that is a member of ${owner}`);
    }
  }
  const warnings: string[] = [];
  if (info.preload === null) {
    warnings.push('cannot read shared_preload_libraries as this role: make sure pg_stat_statements is preloaded for query metrics');
  } else if (!String(info.preload).split(',').map((s) => s.trim()).includes('pg_stat_statements')) {
    warnings.push('pg_stat_statements is not in shared_preload_libraries: query metrics will be empty (set it and restart the server)');
  }
  const host = parseDatabaseUrl(url).host;
  if (!info.ssl && !isLocalHost(host)) {
    warnings.push(`the connection to ${host} is not encrypted: use sslmode=require (or verify-full) for non-local servers`);
  }
  return { serverVersion: String(info.version), serverVersionNum: num, superuser: Boolean(info.rolsuper), warnings, missingExtensions };
}
