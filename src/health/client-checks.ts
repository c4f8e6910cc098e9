import type { Sql } from 'postgres';
import { lastOkRun, readRuns } from '../runs/ledger.js';
import type { HealthStatus } from './checks.js';

/**
 * The checks bookingdb measures itself rather than in ops.health_metric(): freshness of
 * the newest `ok` run per command in the ledger (src/runs/ledger.ts lastOkRun), and runs
 * that died midway. A command never recorded is WARNING with the command to run (a
 * fresh install is not an error, but it is not monitored yet either).
 */
export interface Measurement {
  value: number | null;
  detail: string;
  /** Overrides grading (e.g. no run recorded yet is a warning whatever the thresholds). */
  status?: HealthStatus;
}

type Measure = (sql: Sql) => Promise<Measurement>;

const HOUR_MS = 3_600_000;

function freshness(command: string, label: string, run: string): Measure {
  return async (sql) => {
    const ok = await lastOkRun(sql, command);
    const [newest] = await readRuns(sql, { command, limit: 1 });
    const newestNote = newest && newest.id !== ok?.id ? `; the newest run (#${newest.id}, ${newest.startedAt}) is ${newest.state}` : '';
    if (!ok) {
      return { value: null, status: 'warning', detail: `no ok ${label} recorded in ops.runs yet${newestNote}: run \`${run}\`` };
    }
    const at = ok.finishedAt ?? ok.startedAt;
    const hours = Math.round(((Date.now() - Date.parse(at)) / HOUR_MS) * 100) / 100;
    return { value: hours, detail: `last ok ${label} #${ok.id} finished ${at} (${hours} h ago)${newestNote}` };
  };
}

async function interruptedRuns(sql: Sql): Promise<Measurement> {
  const since = Date.now() - 7 * 24 * HOUR_MS;
  const runs = (await readRuns(sql, { state: 'interrupted', limit: 100 })).filter((r) => Date.parse(r.startedAt) >= since);
  if (runs.length === 0) return { value: 0, detail: 'no interrupted run in the last 7 days' };
  const list = runs.slice(0, 5).map((r) => `#${r.id} ${r.command}${r.task ? ` ${r.task}` : ''} at ${r.startedAt}`).join(', ');
  return { value: runs.length, detail: `${runs.length} runs in the last 7 days died before finishing: ${list}` };
}

export const CLIENT_MEASURES: Record<string, Measure> = {
  'last-maintain': freshness('maintain', 'maintain', 'bookingdb maintain'),
  'last-backup': freshness('backup', 'backup', 'bookingdb backup'),
  'last-restore-verify': freshness('restore-verify', 'restore-verify', 'bookingdb restore-verify'),
  'last-metrics-store': freshness('metrics', 'metrics --store', 'bookingdb metrics --store'),
  'interrupted-runs': interruptedRuns,
};
