import type { Sql } from 'postgres';
import { BookingDbError, usageError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../db/ident.js';
import { roleName, type RoleKind } from '../deploy/group-roles.js';
import { generatePassword, scramVerifier } from './scram.js';

/**
 * LOGIN roles that are members of one group role. Passwords are generated, sent as
 * SCRAM verifiers, and returned to the caller exactly once.
 */
export const LOGIN_KINDS: RoleKind[] = ['app', 'reporting', 'backup', 'monitor'];

export interface LoginRole {
  name: string;
  groups: string[];
  canLogin: boolean;
  validUntil: string | null;
  connectionLimit: number;
}

export function validateRoleName(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw usageError(`invalid role name "${name}"`, 'use lower-case letters, digits and _ (max 63), starting with a letter');
  }
}

async function isSuperuser(sql: Sql): Promise<boolean> {
  const [{ rolsuper }] = await sql`select rolsuper from pg_catalog.pg_roles where rolname = current_user`;
  return Boolean(rolsuper);
}

async function setPassword(sql: Sql, statement: string, superuser: boolean): Promise<void> {
  await sql.begin(async (tx) => {
    // The verifier is not the password, but keep it out of the log too when we can.
    if (superuser) {
      await tx.unsafe("SET LOCAL log_statement = 'none'");
      await tx.unsafe('SET LOCAL log_min_duration_statement = -1');
    }
    await tx.unsafe(statement);
  });
}

export async function createLoginRole(sql: Sql, prefix: string, kind: RoleKind, name: string): Promise<{ name: string; group: string; password: string }> {
  if (!LOGIN_KINDS.includes(kind)) throw usageError(`unknown role kind "${kind}"`, `use one of: ${LOGIN_KINDS.join(', ')}`);
  validateRoleName(name);
  const group = roleName(prefix, kind);
  const [g] = await sql`select 1 from pg_catalog.pg_roles where rolname = ${group}`;
  if (!g) throw new BookingDbError('not_deployed', `group role ${group} does not exist`, { exitCode: 4, hint: 'run `bookingdb deploy` first' });
  const [exists] = await sql`select 1 from pg_catalog.pg_roles where rolname = ${name}`;
  if (exists) throw usageError(`role "${name}" already exists`, `use \`bookingdb roles rotate ${name}\` for a new password`);
  // BYPASSRLS is an attribute, never inherited from a group: a backup login needs it
  // itself, or pg_dump fails under FORCE RLS. Only a superuser can grant it.
  const bypass = kind === 'backup';
  const superuser = await isSuperuser(sql);
  if (bypass) {
    if (!superuser) {
      throw new BookingDbError('insufficient_privilege', 'a backup login needs BYPASSRLS, which only a superuser can grant', {
        exitCode: 4, hint: 'run `roles create backup` as a superuser',
      });
    }
  }
  const password = generatePassword();
  await setPassword(sql, `CREATE ROLE ${quoteIdent(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ${bypass ? 'BYPASSRLS' : 'NOBYPASSRLS'} IN ROLE ${quoteIdent(group)} PASSWORD ${quoteLiteral(scramVerifier(password))}`, superuser);
  return { name, group, password };
}

export async function listLoginRoles(sql: Sql, prefix: string): Promise<LoginRole[]> {
  const groups = (['owner', 'app', 'reporting', 'backup', 'monitor'] as RoleKind[]).map((k) => roleName(prefix, k));
  const rows = await sql`
    select r.rolname, r.rolcanlogin, r.rolvaliduntil::text as valid_until, r.rolconnlimit,
           array_agg(g.rolname order by g.rolname) as groups
      from pg_catalog.pg_roles r
      join pg_catalog.pg_auth_members m on m.member = r.oid
      join pg_catalog.pg_roles g on g.oid = m.roleid
     where g.rolname = any(${groups})
     group by r.rolname, r.rolcanlogin, r.rolvaliduntil, r.rolconnlimit
     order by r.rolname`;
  return rows.map((r) => ({ name: String(r.rolname), groups: r.groups as string[], canLogin: Boolean(r.rolcanlogin), validUntil: (r.valid_until as string | null) ?? null, connectionLimit: Number(r.rolconnlimit) }));
}

export async function rotatePassword(sql: Sql, prefix: string, name: string): Promise<{ name: string; password: string }> {
  validateRoleName(name);
  const members = await listLoginRoles(sql, prefix);
  const role = members.find((m) => m.name === name);
  if (!role || !role.canLogin) {
    throw usageError(`"${name}" is not a bookingdb login role`, 'see `bookingdb roles list`; only roles created with `roles create` can be rotated');
  }
  const password = generatePassword();
  await setPassword(sql, `ALTER ROLE ${quoteIdent(name)} PASSWORD ${quoteLiteral(scramVerifier(password))}`, await isSuperuser(sql));
  return { name, password };
}
