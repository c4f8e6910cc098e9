import { quoteIdent } from '../db/ident.js';
import type { Facts } from './facts.js';
import type { Machine } from './machine.js';
import { adviseSettings, DIRECT_HEADROOM, poolSize, targetMaxConnections, type SettingAdvice } from './settings-advice.js';
import { humanBytes } from './units.js';

/**
 * doctor's advice as a pure function of what it found (Facts) and the machine to size
 * for: postgresql.conf settings (./settings-advice.ts), per-table autovacuum storage
 * parameters for the busy booking tables, security findings, pooling advice and notes.
 * Nothing here runs anything: `statements` are printed for a DBA to review and apply.
 *
 * Exit code contract (decided here, documented in the README): doctor exits 1 when a
 * finding is `must-fix` (a security hole: an app login that bypasses RLS, trust or
 * cleartext password authentication, MD5 password hashing), else 0. Tuning advice is
 * advice: it never fails a run, since a server can be fine with other values.
 */
export type FindingSeverity = 'must-fix' | 'should-fix' | 'note';

export interface Finding {
  id: string;
  severity: FindingSeverity;
  message: string;
  remedy: string;
  statement?: string;
}

export interface TableAdvice {
  table: string;
  current: Record<string, string>;
  recommended: Record<string, string>;
  status: 'ok' | 'change';
  reason: string;
  source: string;
  statement: string | null;
}

export interface Advice {
  settings: SettingAdvice[];
  tables: TableAdvice[];
  findings: Finding[];
  pooling: string[];
  notes: string[];
  /** Everything to apply, in order, for review: never run by bookingdb. */
  statements: string[];
  /** Settings among `statements` that need a restart rather than a reload. */
  restartFor: string[];
  mustFix: number;
}

/** Per-table autovacuum: vacuum after 5% dead rows and analyze after 2% changed, instead of 20% / 10%. */
export const TABLE_AUTOVACUUM = { autovacuum_vacuum_scale_factor: '0.05', autovacuum_analyze_scale_factor: '0.02' };

function adviseTables(facts: Facts): TableAdvice[] {
  const globalVacuum = facts.settings.autovacuum_vacuum_scale_factor?.setting ?? '0.2';
  return facts.tables.map((t) => {
    const ok = Object.entries(TABLE_AUTOVACUUM).every(([k, v]) => t.reloptions[k] !== undefined && Number(t.reloptions[k]) <= Number(v));
    const current = Object.fromEntries(Object.keys(TABLE_AUTOVACUUM).map((k) => [k, t.reloptions[k] ?? `(server ${k === 'autovacuum_vacuum_scale_factor' ? globalVacuum : facts.settings.autovacuum_analyze_scale_factor?.setting ?? '0.1'})`]));
    const rows = Math.round(t.estimatedRows);
    const waitAt = Math.round(rows * Number(globalVacuum));
    const settings = Object.entries(TABLE_AUTOVACUUM).map(([k, v]) => `${k} = ${v}`).join(', ');
    return {
      table: `booking.${t.name}`,
      current,
      recommended: { ...TABLE_AUTOVACUUM },
      status: ok ? 'ok' : 'change',
      reason: `status changes (holds expiring, confirm, cancel, reschedule) leave dead rows; at ${globalVacuum} vacuum waits until ${Number(globalVacuum) * 100}% of the table is dead (${waitAt.toLocaleString('en-US')} of ~${rows.toLocaleString('en-US')} rows now), at 0.05 after 5%`,
      source: 'https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM; https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-STORAGE-PARAMETERS',
      statement: ok ? null : `ALTER TABLE booking.${/^[a-z_]+$/.test(t.name) ? t.name : quoteIdent(t.name)} SET (${settings});`,
    };
  });
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

function isLocal(addr: string | null): boolean {
  return addr === null || LOOPBACK.test(addr.replace(/\/\d+$/, ''));
}

function securityFindings(facts: Facts): Finding[] {
  const out: Finding[] = [];
  for (const login of facts.appLogins) {
    if (login.superuser) {
      out.push({ id: 'app-login-superuser', severity: 'must-fix', message: `login ${login.name} (member of ${facts.appRole}) is a superuser: row-level security does not apply to it`, remedy: 'take the attribute away', statement: `ALTER ROLE ${quoteIdent(login.name)} NOSUPERUSER;` });
    }
    if (login.bypassrls) {
      out.push({ id: 'app-login-bypassrls', severity: 'must-fix', message: `login ${login.name} (member of ${facts.appRole}) has BYPASSRLS: it sees and writes every tenant`, remedy: 'take the attribute away', statement: `ALTER ROLE ${quoteIdent(login.name)} NOBYPASSRLS;` });
    }
  }
  if (!facts.hba.readable) {
    out.push({ id: 'hba-unchecked', severity: 'note', message: 'could not check pg_hba.conf: pg_hba_file_rules needs a superuser', remedy: 'run doctor as a superuser to check the authentication methods' });
  }
  for (const rule of facts.hba.rules) {
    const where = `pg_hba.conf line ${rule.lineNumber} (${rule.type} ${rule.databases.join(',')} ${rule.users.join(',')}${rule.address ? ` ${rule.address}` : ''})`;
    if (rule.error) out.push({ id: 'hba-error', severity: 'should-fix', message: `${where} is invalid: ${rule.error}`, remedy: 'fix the line; the server ignores the file until it parses' });
    const method = rule.authMethod ?? '';
    if (method === 'trust') out.push({ id: 'hba-trust', severity: 'must-fix', message: `${where} uses trust: anyone who reaches it logs in without a password`, remedy: 'use scram-sha-256 (or peer for local sockets), then SELECT pg_reload_conf();' });
    if (method === 'password') out.push({ id: 'hba-password', severity: 'must-fix', message: `${where} uses password: the password crosses the network in clear text`, remedy: 'use scram-sha-256, then SELECT pg_reload_conf();' });
    if (method === 'md5') out.push({ id: 'hba-md5', severity: 'should-fix', message: `${where} uses md5: deprecated, and it lets roles with MD5 verifiers log in`, remedy: 'give every role a SCRAM verifier (bookingdb roles rotate NAME), then use scram-sha-256 and SELECT pg_reload_conf();' });
  }
  if (!facts.md5Verifiers.readable) {
    out.push({ id: 'md5-verifiers-unchecked', severity: 'note', message: 'could not check stored password verifiers: pg_authid needs a superuser', remedy: 'run doctor as a superuser to check them' });
  } else if (facts.md5Verifiers.roles.length) {
    out.push({ id: 'md5-verifiers', severity: 'should-fix', message: `logins with an MD5 password verifier: ${facts.md5Verifiers.roles.join(', ')}`, remedy: 'set a new password with password_encryption = scram-sha-256 (bookingdb roles rotate NAME, or \\password NAME in psql)' });
  }
  const enc = facts.settings.password_encryption?.setting;
  if (enc && enc !== 'scram-sha-256') {
    out.push({ id: 'password-encryption', severity: 'must-fix', message: `password_encryption is ${enc}: new passwords are stored as MD5 verifiers`, remedy: 'switch to SCRAM (then reload)', statement: "ALTER SYSTEM SET password_encryption = 'scram-sha-256';" });
  }
  const local = isLocal(facts.server.serverAddr);
  if (!facts.server.ssl.on && !local) {
    out.push({ id: 'connection-not-encrypted', severity: 'should-fix', message: `this connection to ${facts.server.serverAddr} is not encrypted`, remedy: facts.settings.ssl?.setting === 'off' ? 'turn on ssl (ssl_cert_file, ssl_key_file) and connect with sslmode=verify-full' : 'connect with sslmode=verify-full (the server offers TLS)' });
  }
  return out;
}

function poolingAdvice(facts: Facts, machine: Machine): string[] {
  const p = poolSize(machine);
  const conns = targetMaxConnections(facts, machine);
  const lines = [
    'PgBouncer in transaction mode works with bookingdb: the tenant is set per transaction (SET LOCAL app.tenant_id or set_config(..., true)), so no session state crosses transactions; never use a session-level SET.',
    `pool size: (2 x ${machine.cpus} cores) + ${machine.storage === 'hdd' ? 2 : 1} = ${p} server connections keep this machine busy (PostgreSQL wiki); set PgBouncer default_pool_size = ${p}${machine.connections ? ` and max_client_conn >= ${machine.connections}` : ''}.`,
    'PgBouncer before 1.21 (Debian 12 ships 1.18) cannot carry named prepared statements in transaction mode: turn them off in the app driver (postgres.js prepare: false), or use 1.21+ with max_prepared_statements.',
    `connect deploy, migrate, maintain and backup directly to PostgreSQL, not through the pool: deploy holds a session advisory lock (keep ${DIRECT_HEADROOM} direct connections for them and monitoring).`,
  ];
  if (conns.pooled && machine.connections === null) {
    lines.unshift(`max_connections is ${conns.value} on ${machine.cpus} cores: at most about ${p} can run at once; put PgBouncer in front rather than raising it (pass --connections N to size it).`);
  }
  return lines;
}

/** A pooler (or proxy) between doctor and the server: fine for the app, not for deploy/migrate/maintain. */
export function poolerFindings(facts: Facts): Finding[] {
  const p = facts.pooler;
  if (!p?.pooled) return [];
  return [{
    id: 'pooler-in-front', severity: 'should-fix',
    message: `this connection goes through a pooler or proxy: ${p.reason}`,
    remedy: `fine for the app (tenant set per transaction); run deploy, migrate and maintain against ${p.directUrl} (they refuse through a transaction-mode pooler: session advisory locks do not hold there)`,
  }];
}

function notes(facts: Facts, machine: Machine): string[] {
  const out: string[] = [];
  const given = machine.assumed.filter((a) => a !== 'storage');
  if (given.length) {
    const where = isLocal(facts.server.serverAddr) ? '' : ` but the server is at ${facts.server.serverAddr}`;
    out.push(`sized for this machine (${humanBytes(machine.memoryBytes)}, ${machine.cpus} CPUs)${where}: pass --memory and --cpus for the database server's own`);
  }
  if (machine.assumed.includes('storage')) out.push('storage assumed ssd: pass --storage hdd for spinning disks');
  if (!facts.server.readsAllSettings) out.push(`${facts.server.role} cannot read superuser-only settings (needs pg_read_all_settings): those show as unknown`);
  const pending = Object.values(facts.settings).filter((s) => s.pendingRestart).map((s) => s.name);
  if (pending.length) out.push(`changed but waiting for a restart: ${pending.join(', ')}`);
  return out;
}

/** The advice; see the module comment. Pure: same facts and machine, same advice. */
export function recommend(facts: Facts, machine: Machine): Advice {
  const settings = adviseSettings(facts, machine);
  const tables = adviseTables(facts);
  const findings = [...securityFindings(facts), ...poolerFindings(facts)];
  const system = [...settings.map((s) => s.statement), ...findings.filter((f) => f.statement?.startsWith('ALTER SYSTEM')).map((f) => f.statement)].filter((s): s is string => Boolean(s));
  const restartFor = settings.filter((s) => s.statement && s.restart).map((s) => s.name);
  const statements = [...system];
  if (system.length) statements.push('SELECT pg_catalog.pg_reload_conf();');
  const tableLines = tables.map((t) => t.statement).filter((s): s is string => Boolean(s));
  // SHARE UPDATE EXCLUSIVE: does not block reads or writes, but must not queue behind a long transaction
  if (tableLines.length) statements.push("SET lock_timeout = '2s';", ...tableLines);
  statements.push(...findings.filter((f) => f.statement && !f.statement.startsWith('ALTER SYSTEM')).map((f) => f.statement as string));
  return {
    settings,
    tables,
    findings,
    pooling: poolingAdvice(facts, machine),
    notes: notes(facts, machine),
    statements,
    restartFor,
    mustFix: findings.filter((f) => f.severity === 'must-fix').length,
  };
}
