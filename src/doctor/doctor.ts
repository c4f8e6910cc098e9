import type { Sql } from 'postgres';
import { collectFacts, type Facts } from './facts.js';
import { detectPooler } from '../db/pooler.js';
import type { Machine } from './machine.js';
import { recommend, type Advice } from './recommend.js';

/**
 * `bookingdb doctor`: collects the server's facts (read-only, under a short
 * statement_timeout) and turns them into advice with the pure recommend(). Prints
 * nothing and changes nothing; the ALTER lines in the advice are for a DBA to apply.
 */
export interface DoctorOptions {
  machine: Machine;
  /** The app group role whose LOGIN members are checked (prefix_app). */
  appRole: string;
  statementTimeoutMs: number;
}

export interface DoctorReport {
  server: Facts['server'];
  machine: Machine;
  advice: Advice;
}

export async function runDoctor(sql: Sql, options: DoctorOptions): Promise<DoctorReport> {
  const facts = await collectFacts(sql, { appRole: options.appRole, statementTimeoutMs: options.statementTimeoutMs });
  facts.pooler = await detectPooler(sql);
  return { server: facts.server, machine: options.machine, advice: recommend(facts, options.machine) };
}

/** 1 when a finding is must-fix (a security hole), else 0: tuning advice never fails a run. */
export function doctorExitCode(report: DoctorReport): number {
  return report.advice.mustFix > 0 ? 1 : 0;
}
