import type { Sql, TransactionSql } from 'postgres';
import { BookingDbError, isPgError, usageError } from '../errors.js';
import { rolePrefixProblem } from '../config/ranges.js';
import { quoteIdent, quoteLiteral } from '../db/ident.js';
import { roleName, type RoleKind } from '../deploy/group-roles.js';
import { generatePassword, scramVerifier } from './scram.js';
import { setVerifier } from './set-verifier.js';
import type { Duration } from './durations.js';

/**
 * LOGIN roles that are members of one group role. Passwords are generated, sent as
 * SCRAM verifiers (as bind parameters, see ./set-verifier.ts), and handed to `deliver`
 * inside the transaction that creates or changes the role: when delivery fails (the
 * password file cannot be put in place) the role is rolled back, so no role or
 * rotated password exists that nobody knows.
 */
export const LOGIN_KINDS: RoleKind[] = ['app', 'reporting', 'backup', 'monitor'];

export interface LoginRole {
  name: string;
  groups: string[];
  canLogin: boolean;
  validUntil: string | null;
  connectionLimit: number;
}

/** Role settings `roles create app` gives each app login (ALTER ROLE ... SET). */
export interface AppSessionLimits {
  statementTimeout: Duration;
  idleInTransactionTimeout: Duration;
}

export interface PasswordOptions {
  /** Receives the password before the transaction commits; a throw rolls it back. */
  deliver?: (password: string) => Promise<void>;
}

/** Exit 2 unless the name is a plain lower-case identifier PostgreSQL lets us create. */
export function validateRoleName(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw usageError(`invalid role name "${name}"`, 'use lower-case letters, digits and _ (max 63), starting with a letter');
  }
  if (name.startsWith('pg_')) {
    throw usageError(`invalid role name "${name}": names starting with pg_ are reserved by PostgreSQL`, 'pick a name without the pg_ prefix, e.g. booking_api');
  }
}

/**
 * Exit 2 for a prefix the settings would refuse (e.g. `pg`, which gives pg_app): the
 * same rule as the config file, flags and environment (src/config/ranges.ts), checked
 * again here for callers of the core that did not go through the settings.
 */
export function validateRolePrefix(prefix: string): void {
  const problem = rolePrefixProblem(prefix);
  if (problem) throw usageError(`invalid role prefix "${prefix}"`, problem);
}

/** Exit 2 unless kind is one of LOGIN_KINDS. */
export function parseLoginKind(kind: string): RoleKind {
  if (!(LOGIN_KINDS as string[]).includes(kind)) throw usageError(`unknown role kind "${kind}"`, `use one of: ${LOGIN_KINDS.join(', ')}`);
  return kind as RoleKind;
}

async function isSuperuser(sql: Sql): Promise<boolean> {
  const [{ rolsuper }] = await sql`select rolsuper from pg_catalog.pg_roles where rolname = current_user`;
  return Boolean(rolsuper);
}

function alreadyExists(name: string): BookingDbError {
  return usageError(`role "${name}" already exists`, `use \`bookingdb roles rotate ${name}\` for a new password`);
}

export async function createLoginRole(sql: Sql, prefix: string, kind: RoleKind, name: string,
  options: PasswordOptions & { limits?: AppSessionLimits } = {}): Promise<{ name: string; group: string; password: string }> {
  parseLoginKind(kind);
  validateRoleName(name);
  validateRolePrefix(prefix);
  const group = roleName(prefix, kind);
  const [g] = await sql`select 1 from pg_catalog.pg_roles where rolname = ${group}`;
  if (!g) throw new BookingDbError('not_deployed', `group role ${group} does not exist`, { exitCode: 4, hint: 'run `bookingdb deploy` first' });
  const [exists] = await sql`select 1 from pg_catalog.pg_roles where rolname = ${name}`;
  if (exists) throw alreadyExists(name);
  // BYPASSRLS is an attribute, never inherited from a group: a backup login needs it
  // itself, or pg_dump fails under FORCE RLS. Only a superuser can grant it.
  const bypass = kind === 'backup';
  const superuser = await isSuperuser(sql);
  if (bypass && !superuser) {
    throw new BookingDbError('insufficient_privilege', 'a backup login needs BYPASSRLS, which only a superuser can grant', {
      exitCode: 4, hint: 'run `roles create backup` as a superuser',
    });
  }
  if (!superuser) await assertMayGrant(sql, group);
  const password = generatePassword();
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`CREATE ROLE ${quoteIdent(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ${bypass ? 'BYPASSRLS' : 'NOBYPASSRLS'} IN ROLE ${quoteIdent(group)}`);
      if (options.limits) await applyLimits(tx, name, options.limits);
      await setVerifier(tx, name, scramVerifier(password), superuser);
      await options.deliver?.(password);
    });
  } catch (error) {
    if (isPgError(error) && (error.code === '42710' || error.code === '23505')) throw alreadyExists(name);
    throw error;
  }
  return { name, group, password };
}

/**
 * PostgreSQL 16 took away CREATEROLE's power to grant any role: `IN ROLE group` needs
 * ADMIN OPTION on the group. Refused before anything changes (exit 4), naming the grant.
 */
async function assertMayGrant(sql: Sql, group: string): Promise<void> {
  const [r] = await sql`select pg_catalog.current_setting('server_version_num')::int >= 160000
                                 and not pg_catalog.pg_has_role(current_user, ${group}, 'MEMBER WITH ADMIN OPTION') as refused,
                               current_user as me`;
  if (!r.refused) return;
  throw new BookingDbError('insufficient_privilege', `${r.me} cannot add members to ${group}: from PostgreSQL 16 that needs ADMIN OPTION on it, CREATEROLE is not enough`, {
    exitCode: 4, hint: `as a superuser: GRANT ${quoteIdent(group)} TO ${quoteIdent(String(r.me))} WITH ADMIN OPTION; or run roles create as a superuser`,
  });
}

/** Values are validated Durations (digits and a unit), so quoting them as literals is safe. */
async function applyLimits(tx: TransactionSql, name: string, limits: AppSessionLimits): Promise<void> {
  await tx.unsafe(`ALTER ROLE ${quoteIdent(name)} SET statement_timeout = ${quoteLiteral(limits.statementTimeout.text)}`);
  await tx.unsafe(`ALTER ROLE ${quoteIdent(name)} SET idle_in_transaction_session_timeout = ${quoteLiteral(limits.idleInTransactionTimeout.text)}`);
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

/** New password; the old one stays valid unless the new one was delivered (same transaction). */
export async function rotatePassword(sql: Sql, prefix: string, name: string, options: PasswordOptions = {}): Promise<{ name: string; password: string }> {
  validateRoleName(name);
  validateRolePrefix(prefix);
  const members = await listLoginRoles(sql, prefix);
  const role = members.find((m) => m.name === name);
  if (!role || !role.canLogin) {
    throw usageError(`"${name}" is not a bookingdb login role`, 'see `bookingdb roles list`; only roles created with `roles create` can be rotated');
  }
  const password = generatePassword();
  const superuser = await isSuperuser(sql);
  await sql.begin(async (tx) => {
    await setVerifier(tx, name, scramVerifier(password), superuser);
    await options.deliver?.(password);
  });
  return { name, password };
}
