import type { Facts, SettingFact } from './facts.js';
import type { Machine } from './machine.js';
import { formatBytes, formatMs, GB, MB, settingInBaseUnit, wholeMb } from './units.js';

/**
 * postgresql.conf advice: one rule per setting, each a pure function of the facts and
 * the machine, with its reason and source. Memory rules follow PGTune's formulas
 * (github.com/le0pard/pgtune, "web application" profile) and the PostgreSQL manual;
 * connection sizing follows the PostgreSQL wiki's "Number Of Database Connections".
 * A rule is `ok` when the current value is inside its band (memory +-20-25%, since
 * PostgreSQL users round), `change` otherwise, `unknown` when the setting is unreadable.
 */
export interface SettingAdvice {
  name: string;
  current: string | null;
  recommended: string;
  status: 'ok' | 'change' | 'unknown';
  reason: string;
  source: string;
  /** Takes effect only after a server restart (context postmaster). */
  restart: boolean;
  /** The ALTER SYSTEM line, when status is change. */
  statement: string | null;
}

const DOCS = 'https://www.postgresql.org/docs/current';
const PGTUNE = 'https://github.com/le0pard/pgtune (web profile)';
const WIKI_CONNECTIONS = 'https://wiki.postgresql.org/wiki/Number_Of_Database_Connections';

/** Server connections that keep every core busy: (2 x cores) + spindles (PostgreSQL wiki). */
export function poolSize(machine: Machine): number {
  return machine.cpus * 2 + (machine.storage === 'hdd' ? 2 : 1);
}

/** Direct connections beside the pool: superuser reserve, monitoring, maintain, backup, deploy, psql. */
export const DIRECT_HEADROOM = 20;

/** The max_connections doctor sizes work_mem for (and recommends when --connections is given). */
export function targetMaxConnections(facts: Facts, machine: Machine): { value: number; pooled: boolean } {
  const current = Number(facts.settings.max_connections?.setting ?? 100);
  if (machine.connections === null) return { value: current, pooled: current > 4 * machine.cpus + DIRECT_HEADROOM };
  if (machine.connections <= 4 * machine.cpus) return { value: machine.connections + DIRECT_HEADROOM, pooled: false };
  return { value: poolSize(machine) + DIRECT_HEADROOM, pooled: true };
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

interface Rule {
  name: string;
  recommended: string;
  /** True when the current setting is close enough. */
  ok(current: SettingFact): boolean;
  show?(current: SettingFact): string;
  reason: string;
  source: string;
  /** For list settings: the ALTER SYSTEM value list. */
  values?: string[];
}

function bytesOf(s: SettingFact): number {
  return settingInBaseUnit(s.setting, s.unit)?.value ?? Number.NaN;
}

function msOf(s: SettingFact): number {
  return settingInBaseUnit(s.setting, s.unit)?.value ?? Number.NaN;
}

function band(target: number, low: number, high: number) {
  return (s: SettingFact) => { const v = bytesOf(s); return v >= target * low && v <= target * high; };
}

function memoryRule(name: string, target: number, low: number, high: number, reason: string, source: string): Rule {
  const value = wholeMb(target);
  return { name, recommended: formatBytes(value), ok: band(value, low, high), show: (s) => formatBytes(bytesOf(s)), reason, source };
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean);
}

function rules(facts: Facts, machine: Machine): Rule[] {
  const ram = machine.memoryBytes;
  const ramText = formatBytes(wholeMb(ram));
  const sharedBuffers = wholeMb(ram / 4);
  const conns = targetMaxConnections(facts, machine);
  const workMem = Math.min(64 * MB, Math.max(4 * MB, (ram - sharedBuffers) / (conns.value * 3)));
  const ssd = machine.storage === 'ssd';
  const preload = facts.settings.shared_preload_libraries;
  const libs = preload ? splitList(preload.setting).filter((l) => l !== 'pg_stat_statements') : [];
  const list: Rule[] = [
    memoryRule('shared_buffers', ram / 4, 0.8, 1.25,
      `25% of RAM (${ramText}): PostgreSQL's own cache; the OS page cache does the rest`, `${DOCS}/runtime-config-resource.html#GUC-SHARED-BUFFERS`),
    memoryRule('effective_cache_size', (ram * 3) / 4, 0.8, 1.25,
      '75% of RAM: what the planner assumes shared_buffers plus the OS cache hold (allocates nothing)', `${DOCS}/runtime-config-query.html#GUC-EFFECTIVE-CACHE-SIZE; ${PGTUNE}`),
    memoryRule('maintenance_work_mem', Math.min(2 * GB, ram / 16), 0.8, 2,
      'RAM/16, at most 2GB: faster VACUUM and index builds (the GiST exclusion index dominates a restore)', `${DOCS}/runtime-config-resource.html#GUC-MAINTENANCE-WORK-MEM; ${PGTUNE}`),
    memoryRule('work_mem', workMem, 0.5, 2,
      `(RAM - shared_buffers) / (max_connections ${conns.value} x 3), kept within 4MB..64MB: each sort or hash of every connection may use it`, `${DOCS}/runtime-config-resource.html#GUC-WORK-MEM; ${PGTUNE}`),
    {
      name: 'random_page_cost', recommended: ssd ? '1.1' : '4',
      ok: (s) => (ssd ? Number(s.setting) <= 1.5 : Number(s.setting) >= 3),
      reason: ssd ? 'on SSD a random read costs about as much as a sequential one: index scans are priced fairly' : 'spinning disks: random reads are expensive (the default)',
      source: `${DOCS}/runtime-config-query.html#GUC-RANDOM-PAGE-COST; ${PGTUNE}`,
    },
    {
      name: 'effective_io_concurrency', recommended: ssd ? '200' : '2',
      ok: (s) => (ssd ? Number(s.setting) >= 100 : Number(s.setting) >= 2 && Number(s.setting) <= 4),
      reason: ssd ? 'SSDs serve many concurrent reads: bitmap heap scans prefetch that many pages' : 'a spinning disk serves about one read per spindle',
      source: `${DOCS}/runtime-config-resource.html#GUC-EFFECTIVE-IO-CONCURRENCY; ${PGTUNE}`,
    },
    {
      name: 'checkpoint_timeout', recommended: '15min',
      ok: (s) => msOf(s) >= 10 * 60_000 && msOf(s) <= 30 * 60_000, show: (s) => formatMs(msOf(s)),
      reason: 'fewer checkpoints, so fewer full-page images in the WAL after each one; crash recovery stays minutes',
      source: `${DOCS}/wal-configuration.html`,
    },
    {
      name: 'max_wal_size', recommended: '4GB', ok: (s) => bytesOf(s) >= 2 * GB, show: (s) => formatBytes(bytesOf(s)),
      reason: 'room for 15 minutes of writes, so checkpoints are timed, not forced by WAL volume',
      source: `${DOCS}/runtime-config-wal.html#GUC-MAX-WAL-SIZE; ${PGTUNE}`,
    },
    {
      name: 'min_wal_size', recommended: '1GB', ok: (s) => bytesOf(s) >= 512 * MB, show: (s) => formatBytes(bytesOf(s)),
      reason: 'keeps WAL segments for reuse instead of creating files during bursts', source: `${DOCS}/runtime-config-wal.html#GUC-MIN-WAL-SIZE; ${PGTUNE}`,
    },
    {
      name: 'checkpoint_completion_target', recommended: '0.9', ok: (s) => Number(s.setting) >= 0.9,
      reason: 'spreads checkpoint writes over 90% of the interval (the default since PostgreSQL 14)', source: `${DOCS}/runtime-config-wal.html#GUC-CHECKPOINT-COMPLETION-TARGET`,
    },
    {
      name: 'wal_compression', recommended: 'on', ok: (s) => s.setting !== 'off',
      reason: 'compresses full-page images: less WAL to write, archive and replicate, for a little CPU', source: `${DOCS}/runtime-config-wal.html#GUC-WAL-COMPRESSION`,
    },
    {
      name: 'wal_level', recommended: 'replica', ok: (s) => s.setting === 'replica' || s.setting === 'logical',
      reason: 'needed for pg_basebackup, point-in-time recovery and replicas', source: `${DOCS}/runtime-config-wal.html#GUC-WAL-LEVEL`,
    },
    {
      name: 'autovacuum', recommended: 'on', ok: (s) => s.setting === 'on',
      reason: 'without it dead rows from cancelled and expired bookings pile up and wraparound protection stops', source: `${DOCS}/routine-vacuuming.html#AUTOVACUUM`,
    },
    {
      name: 'shared_preload_libraries', recommended: [...libs, 'pg_stat_statements'].join(','),
      values: [...libs, 'pg_stat_statements'],
      ok: (s) => splitList(s.setting).includes('pg_stat_statements'), show: (s) => s.setting || "''",
      reason: 'pg_stat_statements (bookingdb slow-queries, the health check) must be preloaded; keeps the libraries already there',
      source: `${DOCS}/pgstatstatements.html`,
    },
  ];
  if (machine.connections !== null) {
    list.push({
      name: 'max_connections', recommended: String(conns.value),
      ok: (s) => Number(s.setting) >= conns.value && Number(s.setting) <= conns.value * 1.5,
      reason: conns.pooled
        ? `${machine.connections} clients through PgBouncer: a pool of ${poolSize(machine)} (2 x ${machine.cpus} cores + ${ssd ? 1 : 2}) plus ${DIRECT_HEADROOM} direct sessions`
        : `${machine.connections} clients plus ${DIRECT_HEADROOM} for superuser reserve, monitoring, maintain and backup`,
      source: WIKI_CONNECTIONS,
    });
  }
  return list;
}

/** The settings advice; see the module comment. */
export function adviseSettings(facts: Facts, machine: Machine): SettingAdvice[] {
  return rules(facts, machine).map((rule) => {
    const current = facts.settings[rule.name];
    const restart = current ? current.context === 'postmaster' : rule.name === 'shared_preload_libraries';
    const base = { name: rule.name, recommended: rule.recommended, reason: rule.reason, source: rule.source, restart };
    if (!current) return { ...base, current: null, status: 'unknown' as const, statement: null };
    const shown = rule.show ? rule.show(current) : current.setting;
    if (rule.ok(current)) return { ...base, current: shown, status: 'ok' as const, statement: null };
    const value = rule.values ? rule.values.map(quote).join(', ') : quote(rule.recommended);
    return { ...base, current: shown, status: 'change' as const, statement: `ALTER SYSTEM SET ${rule.name} = ${value};` };
  });
}
