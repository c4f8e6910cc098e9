import type { ReservedSql, Sql } from 'postgres';
import { quoteIdent } from '../db/ident.js';

/**
 * The group roles of DESIGN.md. All NOLOGIN; `roles create` adds LOGIN members.
 * Roles are cluster-wide, so deploys of different databases on one server may race
 * to create them: ensureGroupRoles runs in its own short transaction and retries.
 */
export type RoleKind = 'owner' | 'app' | 'reporting' | 'backup' | 'monitor' | 'ops';

interface RoleSpec {
  kind: RoleKind;
  bypassrls: boolean;
  memberOf: string[];
}

const SPECS: RoleSpec[] = [
  { kind: 'owner', bypassrls: false, memberOf: [] },
  { kind: 'app', bypassrls: false, memberOf: [] },
  { kind: 'reporting', bypassrls: false, memberOf: [] },
  { kind: 'backup', bypassrls: true, memberOf: ['pg_read_all_data'] },
  { kind: 'monitor', bypassrls: false, memberOf: ['pg_monitor'] },
  // Owns only the audited SECURITY DEFINER functions that must see every tenant
  // (health counts, maintenance) and the reporting materialized views. BYPASSRLS so
  // those see across tenants while the owner stays behind FORCE RLS. Nobody logs in
  // as it and no role is made a member of it.
  { kind: 'ops', bypassrls: true, memberOf: [] },
];

/** Every group role kind, in the order deploy creates them. */
export const GROUP_KINDS: RoleKind[] = SPECS.map((s) => s.kind);

export function roleName(prefix: string, kind: RoleKind): string {
  return `${prefix}_${kind}`;
}

export interface RoleChange {
  role: string;
  action: 'create' | 'alter' | 'grant';
  statement: string;
}

/** The statements needed to bring the group roles to their spec (empty when they match). */
export async function planGroupRoles(conn: Sql | ReservedSql, prefix: string): Promise<RoleChange[]> {
  const names = SPECS.map((s) => roleName(prefix, s.kind));
  const rows = await conn`
    select r.rolname, r.rolcanlogin, r.rolbypassrls, r.rolsuper,
           coalesce(array_agg(g.rolname) filter (where g.rolname is not null), '{}') as member_of
      from pg_catalog.pg_roles r
      left join pg_catalog.pg_auth_members m on m.member = r.oid
      left join pg_catalog.pg_roles g on g.oid = m.roleid
     where r.rolname = any(${names})
     group by r.rolname, r.rolcanlogin, r.rolbypassrls, r.rolsuper`;
  const existing = new Map(rows.map((r) => [String(r.rolname), r]));
  const changes: RoleChange[] = [];
  for (const spec of SPECS) {
    const name = roleName(prefix, spec.kind);
    const q = quoteIdent(name);
    const attrs = `NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ${spec.bypassrls ? 'BYPASSRLS' : 'NOBYPASSRLS'}`;
    const row = existing.get(name);
    if (!row) {
      changes.push({ role: name, action: 'create', statement: `CREATE ROLE ${q} ${attrs}` });
    } else if (row.rolcanlogin || row.rolsuper || row.rolbypassrls !== spec.bypassrls) {
      changes.push({ role: name, action: 'alter', statement: `ALTER ROLE ${q} ${attrs}` });
    }
    const memberOf = new Set<string>((row?.member_of as string[] | undefined) ?? []);
    for (const group of spec.memberOf) {
      if (!memberOf.has(group)) changes.push({ role: name, action: 'grant', statement: `GRANT ${quoteIdent(group)} TO ${q}` });
    }
  }
  return changes;
}

// 23505 and 42710: another deploy created the role between our plan and our CREATE;
// XX000 "tuple concurrently updated": a concurrent GRANT on the same role.
const RETRYABLE = new Set(['23505', '42710', '40001', '40P01', 'XX000']);

/** Applies planGroupRoles' statements in one transaction, retrying cross-database races. */
export async function ensureGroupRoles(conn: ReservedSql, prefix: string): Promise<RoleChange[]> {
  for (let attempt = 1; ; attempt++) {
    const changes = await planGroupRoles(conn, prefix);
    if (changes.length === 0) return [];
    try {
      await conn.unsafe('BEGIN');
      for (const change of changes) await conn.unsafe(change.statement);
      await conn.unsafe('COMMIT');
      return changes;
    } catch (error) {
      await conn.unsafe('ROLLBACK').catch(() => undefined);
      const code = (error as { code?: string }).code ?? '';
      if (attempt >= 5 || !RETRYABLE.has(code)) throw error;
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 100));
    }
  }
}
