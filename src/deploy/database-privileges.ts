import type { ReservedSql } from 'postgres';
import { quoteIdent } from '../db/ident.js';
import { roleName } from './group-roles.js';

/**
 * Database-level privileges that deploy asserts on every run, as the connecting role
 * (before it switches to the owner role, which cannot change them):
 *
 * - `REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC`: nothing bookingdb runs as a
 *   non-superuser needs temporary objects (the API creates none; `seed demo`, whose
 *   pg_temp functions and temp tables do, runs as superuser). Asserted on every
 *   deploy because PostgreSQL keeps database ACLs out of copies: `CREATE DATABASE ...
 *   TEMPLATE`, and pg_restore into a new database, start with PUBLIC holding TEMP.
 * - `REVOKE CREATE ON SCHEMA public FROM PUBLIC`: PostgreSQL 15's default, but a
 *   database upgraded from 14 or older (pg_upgrade, dump and restore) keeps PUBLIC's
 *   CREATE, which is how an app login planted `public.setseed(numeric)`. The database
 *   is bookingdb's own (nothing of it lives in public), so deploy takes it away.
 * - `GRANT TEMPORARY ON DATABASE <db> TO bookingdb_ops`: `REFRESH MATERIALIZED VIEW
 *   CONCURRENTLY` builds its diff in a temporary table as the view's owner, and the
 *   reporting views are owned by ops (NOLOGIN, no members: only its functions run as
 *   it). Asserted on every deploy for the same reason as the revoke.
 *
 * Each is done only when the connecting role may (superuser, or a member of the
 * database's or the schema's owner); otherwise the post-deploy verification names
 * the privilege and the statement that removes it. Returns the statements it ran.
 */
export async function ensureDatabasePrivileges(conn: ReservedSql, rolePrefix: string): Promise<string[]> {
  const ops = roleName(rolePrefix, 'ops');
  const [state] = await conn`
    select pg_catalog.current_database() as db,
           pg_catalog.has_database_privilege('public', pg_catalog.current_database(), 'TEMPORARY') as public_temp,
           r.rolsuper or pg_catalog.pg_has_role(d.datdba, 'USAGE') as may_alter_db,
           n.oid is not null and pg_catalog.has_schema_privilege('public', n.oid, 'CREATE') as public_create,
           n.oid is not null and (r.rolsuper or pg_catalog.pg_has_role(n.nspowner, 'USAGE')) as may_alter_public,
           exists (select 1 from pg_catalog.pg_roles o where o.rolname = ${ops}) as ops_exists,
           exists (select 1 from pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) g
                    join pg_catalog.pg_roles o on o.oid = g.grantee and o.rolname = ${ops}
                   where g.privilege_type = 'TEMPORARY') as ops_temp
      from pg_catalog.pg_roles r
      join pg_catalog.pg_database d on d.datname = pg_catalog.current_database()
      left join pg_catalog.pg_namespace n on n.nspname = 'public'
     where r.rolname = current_user`;
  const statements: string[] = [];
  if (state.public_temp && state.may_alter_db) statements.push(`REVOKE TEMPORARY ON DATABASE ${quoteIdent(String(state.db))} FROM PUBLIC`);
  if (state.ops_exists && !state.ops_temp && state.may_alter_db) statements.push(`GRANT TEMPORARY ON DATABASE ${quoteIdent(String(state.db))} TO ${quoteIdent(ops)}`);
  if (state.public_create && state.may_alter_public) statements.push('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  for (const statement of statements) await conn.unsafe(statement);
  return statements;
}
