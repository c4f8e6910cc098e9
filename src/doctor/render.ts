import type { DoctorReport } from './doctor.js';
import { humanBytes } from './units.js';

/** The text view of a doctor report: facts, settings, tables, findings, pooling, then the lines to apply. */
export type TableRenderer = (head: string[], rows: (string | number | null | undefined)[][]) => Promise<string>;

export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}min` : `${m}min`;
}

export async function renderDoctor(report: DoctorReport, table: TableRenderer): Promise<string> {
  const { server: s, machine: m, advice: a } = report;
  const tls = s.ssl.on ? `${s.ssl.version} ${s.ssl.cipher}` : s.serverAddr === null ? 'no (Unix socket)' : 'no';
  const parts = [
    `PostgreSQL ${s.version}, up ${formatUptime(s.uptimeSeconds)} (since ${s.startedAt}); database ${s.database} ${humanBytes(s.databaseBytes)}; ` +
      `connected as ${s.role}${s.superuser ? ' (superuser)' : ''}; TLS: ${tls}; ${s.clientConnections} client connections`,
    `sizing for ${humanBytes(m.memoryBytes)} RAM, ${m.cpus} CPUs, ${m.storage}${m.connections ? `, ${m.connections} client connections` : ''}`,
    '',
    await table(['setting', 'current', 'recommended', 'status'], a.settings.map((x) => [
      x.name, x.current ?? 'unknown', x.recommended, x.status === 'ok' ? 'ok' : x.status === 'unknown' ? 'unknown' : x.restart ? 'change (restart)' : 'change',
    ])),
  ];
  const why = a.settings.filter((x) => x.status !== 'ok');
  if (why.length) parts.push('why:', ...why.map((x) => `  ${x.name}: ${x.reason}`));
  if (a.tables.length) {
    parts.push('', await table(['table', 'vacuum / analyze scale factor', 'recommended', 'status'], a.tables.map((t) => [
      t.table, Object.values(t.current).join(' / '), Object.values(t.recommended).join(' / '), t.status,
    ])));
    const whyTables = a.tables.filter((t) => t.status !== 'ok');
    if (whyTables.length) parts.push('why:', ...whyTables.map((t) => `  ${t.table}: ${t.reason}`));
  }
  const findings = a.findings.filter((f) => f.severity !== 'note');
  parts.push('', findings.length ? 'security:' : 'security: no findings');
  for (const f of a.findings) parts.push(`  ${f.severity}: ${f.message}${f.severity === 'note' ? '' : ` -> ${f.remedy}`}`);
  parts.push('', 'pooling:', ...a.pooling.map((l) => `  ${l}`));
  if (a.notes.length) parts.push('', 'notes:', ...a.notes.map((l) => `  ${l}`));
  if (a.statements.length) {
    parts.push('', 'to apply (review first; bookingdb never runs these):', ...a.statements.map((l) => `  ${l}`));
    if (a.restartFor.length) parts.push(`  -- then restart the server for: ${a.restartFor.join(', ')}`);
  } else {
    parts.push('', 'nothing to apply');
  }
  return parts.join('\n');
}
