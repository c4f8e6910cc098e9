import { join } from 'node:path';
import type { ReservedSql, Sql } from 'postgres';
import { readManifest, VERIFY_FILE, type BackupManifest, type VerifyVerdict, verdictSchema } from '../backup/manifest.js';
import { findPgTool, type PgTool } from '../backup/pg-tools.js';
import { connect } from '../db/connect.js';
import type { ConnectionTarget } from '../db/url.js';
import { ensureDatabasePrivileges } from '../deploy/database-privileges.js';
import { writeFileAtomic } from '../health/write-atomic.js';
import { startRun, type Run } from '../runs/ledger.js';
import { type AgeIdentities } from './age-decrypt.js';
import { openArchive, readToc, restoreArchive, type Archive } from './archive.js';
import { compareCounts, compareMigrations, runAmcheck, runBookingChecks, runPostDeployChecks } from './checks.js';
import { checkFiles, checkManifestConsistency } from './files.js';
import { libpqEnv } from '../db/libpq-env.js';
import { resolveBackup } from './locate.js';
import { RestoreOverlap, type OverlapResult } from './overlap.js';
import { createScratch, dropCommand, dropScratch, lockScratch, scratchDatabaseName, scratchExists } from './scratch.js';
import { StepFailed, StepRunner, type StepRecord } from './steps.js';

/**
 * restore-verify (issue 9): proves a backup restorable by restoring it into a scratch
 * database and querying it. Steps, each timed: manifest, files, toc, restore, counts,
 * verify, booking-checks, migrations, amcheck, drop. The scratch database is dropped
 * on success, on failure and on abort (the CLI aborts on SIGINT/SIGTERM) unless
 * `keep`. The verdict goes to verify.json beside the manifest and into the SOURCE
 * database's ops.runs (command 'restore-verify'), which health-check's
 * last-restore-verify check reads.
 */
export const VERIFY_STEPS = ['manifest', 'files', 'toc', 'restore', 'counts', 'verify', 'booking-checks', 'migrations', 'amcheck', 'drop'] as const;

export interface RestoreVerifyOptions {
  /** The backup root directory (absolute). */
  dir: string;
  /** A backup id or 'latest'. */
  backup: string;
  jobs: number;
  keep: boolean;
  /** The source database: its ops.runs records the run; its server holds the scratch database unless scratchServer. */
  source: ConnectionTarget;
  /** --target-url: another server (its database is the maintenance database for CREATE DATABASE). */
  scratchServer?: ConnectionTarget;
  identities?: AgeIdentities;
  rolePrefix: string;
  /** PGOPTIONS for the restore sessions. */
  maintenanceWorkMem: string;
  maxParallelMaintenanceWorkers: number;
  /** Count tables and amcheck indexes already final while pg_restore still runs (RestoreOverlap; the CLI passes true unless --no-overlap). */
  overlap?: boolean;
  connectTimeoutSeconds: number;
  signal?: AbortSignal;
  onStep?: (step: StepRecord) => void;
}

export interface RestoreVerifyResult {
  verdict: VerifyVerdict;
  backupId: string;
  backupPath: string;
  runId: number;
  /** Set when the scratch database was kept (--keep): the statement that drops it. */
  dropCommand: string | null;
  leftoverDropped: boolean;
  verdictFile: string | null;
  verdictWriteError: string | null;
  interrupted: boolean;
}

export function restoreOptions(maintenanceWorkMem: string, workers: number): string {
  return [`-c maintenance_work_mem=${maintenanceWorkMem}`, `-c max_parallel_maintenance_workers=${workers}`, '-c statement_timeout=0', '-c synchronous_commit=off'].join(' ');
}

async function serverMajor(sql: Sql | ReservedSql): Promise<number> {
  const [row] = await sql`select pg_catalog.current_setting('server_version_num')::int as n`;
  return Math.floor(Number(row.n) / 10000);
}

export async function restoreVerify(o: RestoreVerifyOptions): Promise<RestoreVerifyResult> {
  const located = await resolveBackup(o.dir, o.backup); // exit 2/4 before anything is recorded
  const source = await connect(o.source, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: 3 });
  const server = o.scratchServer ? await connect(o.scratchServer, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: 1 }).catch(async (e) => { await source.end({ timeout: 5 }); throw e; }) : source;
  const closePools = async () => {
    if (server !== source) await server.end({ timeout: 5 });
    await source.end({ timeout: 5 });
  };
  let major: number;
  let pgRestore: PgTool;
  let run: Run;
  try {
    major = await serverMajor(server);
    pgRestore = await findPgTool('pg_restore', major); // none: exit 4 before anything is recorded
    run = await startRun(source, 'restore-verify', null, { backupId: located.id });
  } catch (error) {
    await closePools();
    throw error;
  }
  const started = performance.now();
  const steps = new StepRunner(VERIFY_STEPS, o.onStep, o.signal);
  const serverTarget = o.scratchServer ?? o.source;
  let manifest: BackupManifest | undefined;
  let scratch = scratchDatabaseName(o.source.database, located.id);
  let admin: ReservedSql | undefined;
  let scratchSql: Sql | undefined;
  let archive: Archive | undefined;
  let overlap: OverlapResult | undefined;
  let created = false;
  let leftoverDropped = false;
  const closeScratch = () => { const s = scratchSql; scratchSql = undefined; return s?.end({ timeout: 1 }).catch(() => undefined); };
  const onAbort = () => { void closeScratch(); };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const aborted = () => { if (o.signal?.aborted) throw new Error(`interrupted by ${String(o.signal.reason ?? 'a signal')}`); };
  try {
    await steps.run('manifest', async () => {
      manifest = await readManifest(located.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new Error(`${join(located.path, 'manifest.json')} is missing: the backup is incomplete`);
        throw error;
      });
      const problem = checkManifestConsistency(located.path, located.id, manifest);
      if (problem) return { problem: problem.message };
      if (manifest.encryption && !o.identities) return { problem: `backup ${located.id} is encrypted to ${manifest.encryption.recipients.join(', ')}: pass --identity-file with one of their keys` };
      return { detail: { format: manifest.dump.format, encrypted: manifest.encryption !== null, tables: Object.keys(manifest.tables).length, rows: manifest.rows } };
    });
    const m = manifest!;
    scratch = scratchDatabaseName(m.database, m.id);
    await steps.run('files', async () => {
      const r = await checkFiles(located.path, m);
      return r.problem ? { problem: r.problem.message, detail: { file: r.problem.file } } : { detail: { files: r.files, bytes: r.bytes } };
    });
    aborted();
    const dumpMajor = Number(m.pgDump.version.split('.')[0]);
    if (dumpMajor > pgRestore.major) pgRestore = await findPgTool('pg_restore', dumpMajor); // an archive of a newer pg_dump
    await steps.run('toc', async () => {
      archive = await openArchive(located.path, m, o.identities, o.signal);
      const toc = await readToc(pgRestore, archive, o.signal);
      if (toc.entries === 0) return { problem: 'the archive lists no entries' };
      return { detail: { entries: toc.entries, tableData: toc.tableData.length, pgRestore: pgRestore.version } };
    });
    await steps.run('restore', async () => {
      aborted();
      admin = await server.reserve();
      await lockScratch(admin, scratch);
      if (await scratchExists(admin, scratch)) {
        await dropScratch(admin, scratch);
        leftoverDropped = true;
      }
      await createScratch(admin, scratch);
      created = true;
      const env = libpqEnv(serverTarget, scratch, restoreOptions(o.maintenanceWorkMem, o.maxParallelMaintenanceWorkers));
      scratchSql = await connect({ ...serverTarget, database: scratch }, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: Math.max(2, o.jobs) });
      const concurrent = o.overlap !== true ? undefined : new RestoreOverlap(scratchSql, new Set(Object.keys(m.tables)), o.jobs, o.signal);
      concurrent?.start();
      let r: { jobs: number };
      try {
        r = await restoreArchive(pgRestore, archive!, scratch, { jobs: o.jobs, env, signal: o.signal });
      } finally {
        overlap = await concurrent?.stop();
      }
      aborted();
      const conn = await scratchSql.reserve();
      let privileges: string[];
      try {
        privileges = await ensureDatabasePrivileges(conn, o.rolePrefix);
      } finally {
        conn.release();
      }
      const during = overlap ? { duringRestore: { counted: overlap.counts.size, amchecked: overlap.checked.size, busyMs: Math.round(overlap.countMs + overlap.amcheckMs), yielded: overlap.yielded } } : {};
      return { detail: { database: scratch, jobs: r.jobs, format: archive!.format, privileges, leftoverDropped, ...during } };
    });
    const sql = () => { aborted(); return scratchSql!; };
    // counts and amcheck may have done part of their work during the restore (RestoreOverlap):
    // their durationMs is what they took after it, detail.duringRestoreMs the busy time before
    const early = (ms: number | undefined) => (overlap && ms ? { duringRestoreMs: Math.round(ms) } : {});
    await steps.run('counts', async () => {
      const c = await compareCounts(sql(), m, overlap?.counts);
      return { ...c, detail: { ...c.detail, ...early(overlap?.countMs) } };
    });
    await steps.run('verify', () => runPostDeployChecks(sql(), o.rolePrefix));
    await steps.run('booking-checks', () => runBookingChecks(sql()));
    await steps.run('migrations', () => compareMigrations(sql(), m));
    await steps.run('amcheck', async () => {
      const c = await runAmcheck(sql(), o.jobs, overlap?.checked, o.signal);
      return { ...c, detail: { ...c.detail, ...early(overlap?.amcheckMs) } };
    });
    aborted();
  } catch (error) {
    if (!(error instanceof StepFailed)) {
      // outside a step (the pg_restore lookup, the server version): fail the next step
      await steps.run(nextStep(steps), async () => { throw error; }).catch(() => undefined);
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await closeScratch();
    await archive?.cleanup().catch(() => undefined);
  }
  // drop: on success, on failure and on abort, unless --keep
  let keptCommand: string | null = null;
  if (created && o.keep) {
    steps.skip('drop', { kept: scratch });
    keptCommand = dropCommand(scratch);
  } else if (created) {
    const failedBefore = steps.failed;
    steps.failed = undefined;
    await steps.run('drop', async () => { await dropScratch(admin!, scratch); return { detail: { database: scratch } }; }).catch(() => undefined);
    steps.failed = failedBefore ?? steps.failed;
  }
  admin?.release();
  const interrupted = Boolean(o.signal?.aborted);
  const failed = steps.failed;
  const verdict = verdictSchema.parse({
    backupId: located.id,
    verifiedAt: new Date().toISOString(),
    result: failed ? 'failed' : 'passed',
    failedStep: failed?.step ?? null,
    message: failed?.message ?? null,
    steps: steps.finish(),
    totalMs: Math.round(performance.now() - started),
    target: scratch,
  });
  let verdictFile: string | null = null;
  let verdictWriteError: string | null = null;
  if (!interrupted) {
    try {
      verdictFile = join(located.path, VERIFY_FILE);
      await writeFileAtomic(verdictFile, `${JSON.stringify(verdict, null, 2)}\n`);
    } catch (error) {
      verdictWriteError = (error as Error).message;
      verdictFile = null;
    }
  }
  const detail = {
    backupId: located.id, verdict: verdict.result, totalMs: verdict.totalMs, failedStep: verdict.failedStep,
    ...(verdict.message ? { message: verdict.message.slice(0, 2000) } : {}),
    stepsMs: Object.fromEntries(verdict.steps.map((s) => [s.name, s.durationMs])),
    scratch, ...(interrupted ? { interrupted: true } : {}), ...(keptCommand ? { kept: true } : {}),
  };
  try {
    await run.finish(failed ? 'failed' : 'ok', detail);
  } finally {
    await closePools();
  }
  return { verdict, backupId: located.id, backupPath: located.path, runId: run.id, dropCommand: keptCommand, leftoverDropped, verdictFile, verdictWriteError, interrupted };
}

function nextStep(steps: StepRunner): string {
  const done = new Set(steps.steps.map((s) => s.name));
  return VERIFY_STEPS.find((n) => !done.has(n)) ?? 'drop';
}
