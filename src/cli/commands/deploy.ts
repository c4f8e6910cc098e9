import type { Command } from 'commander';
import { action, confirmPrompt, withTargetSql } from './action.js';
import { renderTable } from '../output.js';
import type { DeployPlan, DeployReceipt } from '../../deploy/deploy.js';
import type { CitusPlan } from '../../deploy/citus.js';
import type { Context } from '../context.js';
import { preconditionError } from '../../errors.js';

export function renderPlan(plan: DeployPlan): string {
  const lines: string[] = [];
  if (plan.createDatabase) lines.push('  create database');
  for (const s of plan.schemas) lines.push(`  create schema ${s}`);
  for (const e of plan.extensions) lines.push(`  create extension ${e}`);
  for (const r of plan.roles) lines.push(`  ${r.statement}`);
  for (const m of plan.migrations) lines.push(`  migrate ${m.name} (${m.sha256.slice(0, 12)})`);
  for (const f of plan.repeatable) lines.push(`  apply sql/schema/${f.file} (${f.reason})`);
  return lines.length ? lines.join('\n') : '  nothing to do: the database is up to date';
}

async function renderReceipt(r: DeployReceipt, seeded?: Record<string, number>): Promise<string> {
  const rows: (string | number)[][] = [
    ['target', r.target],
    ['server', `PostgreSQL ${r.serverVersion}`],
    ['database created', r.applied.databaseCreated ? 'yes' : 'no'],
    ['roles changed', r.applied.roles.length],
    ['extensions created', r.applied.extensions.join(', ') || 'none'],
    ['migrations applied', r.applied.migrations.map((m) => `${m.name} ${m.sha256.slice(0, 12)}`).join('\n') || 'none'],
    ['repeatable files applied', r.applied.repeatable.length],
    ['verification', `${r.verification.filter((v) => v.status === 'ok').length}/${r.verification.length} checks ok`],
    ['duration', `${r.durationsMs.total} ms`],
  ];
  if (seeded) rows.push(['demo data seeded', `${seeded.tenants} tenants, ${seeded.resources} resources, ${seeded.bookings} bookings`]);
  return renderTable(['deploy', r.noop ? 'no changes' : 'applied'], rows);
}

function renderCitus(plan: CitusPlan, ran?: string[]): string {
  const head = ran === undefined ? `citus: ${plan.statements.length} statements (not run)` : `citus: ran ${ran.length} of ${plan.statements.length} statements (the rest were done before)`;
  return `${head}\n${plan.statements.map((s) => `  ${s}`).join('\n')}`;
}

/**
 * --citus: the Citus calls generated from the deployed catalog (src/deploy/citus.ts).
 * Printed with --dry-run; run when the citus extension is created; without it, printed
 * and exit 4 (in --json the plan is in the error document).
 */
async function deployCitus(ctx: Context, receipt: DeployReceipt): Promise<{ plan: CitusPlan; ran?: string[] }> {
  const { applyCitusPlan, citusMissingError, citusPlan, citusState } = await import('../../deploy/citus.js');
  if (receipt.dryRun && receipt.plan.createDatabase) {
    throw preconditionError('citus_needs_deploy', 'deploy --citus reads the deployed catalog, and the database does not exist yet', 'run `bookingdb deploy` first, then deploy --citus --dry-run');
  }
  if (receipt.dryRun && receipt.plan.migrations.length > 0) {
    ctx.out.warn(`the citus calls are generated from the catalog as it is: ${receipt.plan.migrations.length} pending migrations may change them`);
  }
  return withTargetSql(ctx, async (sql) => {
    const plan = await citusPlan(sql);
    if (receipt.dryRun) return { plan };
    const state = await citusState(sql);
    if (!state.version) {
      if (!ctx.out.json) ctx.out.print(`${await renderReceipt(receipt)}\n${renderCitus(plan)}`);
      throw citusMissingError(plan, state.available, ctx.out.json ? { deploy: receipt } : {});
    }
    return { plan, ran: await applyCitusPlan(sql, plan, (m) => ctx.out.debugLog(m)) };
  });
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('preflight, create database, extensions, roles, migrations, repeatable SQL, grants, verification')
    .option('--dry-run', 'show the plan and change nothing')
    .option('--lock-wait <seconds>', 'wait this long for another deploy to finish (default 60)')
    .option('--lock-timeout <ms>', 'lock_timeout for DDL, so traffic never queues behind the deploy (default 5000)')
    .option('--demo', 'after deploying, seed a small demo data set')
    .option('--citus', 'then distribute the schema on Citus by tenant_id (with --dry-run: print the calls only)')
    .addHelpText('after', '\nexamples:\n  bookingdb deploy                    # the local cluster\n  bookingdb deploy --dry-run --database-url postgres://admin@db.example.com/booking')
    .action(action(async (ctx, opts) => {
      const { deploy } = await import('../../deploy/deploy.js');
      const target = await ctx.target();
      const step = await ctx.out.step(`deploying to ${target.redacted}`);
      let receipt: DeployReceipt;
      try {
        receipt = await deploy({
          url: target.url,
          rolePrefix: ctx.settings.rolePrefix,
          dryRun: Boolean(opts.dryRun),
          lockWaitSeconds: ctx.settings.lockWaitSeconds,
          lockTimeoutMs: ctx.settings.lockTimeoutMs,
          connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds,
          log: (m) => ctx.out.debugLog(m),
          confirm: !target.local && ctx.canPrompt
            ? async (plan) => {
                step.pause();
                process.stderr.write(`plan for ${target.redacted}:\n${renderPlan(plan)}\n`);
                return plan.migrations.length + plan.repeatable.length + plan.roles.length === 0 || confirmPrompt('apply this plan?');
              }
            : undefined,
        });
      } catch (error) {
        step.fail();
        throw error;
      }
      step.done(receipt.dryRun ? 'dry run' : receipt.noop ? 'no changes' : 'done');
      for (const w of receipt.warnings) ctx.out.warn(w);
      let seeded: Record<string, number> | undefined;
      if (opts.demo && !receipt.dryRun) {
        const { seedDemo, DEMO_SMALL } = await import('../../seed/run.js');
        seeded = await seedDemo(ctx, target.url, DEMO_SMALL);
      }
      const citus = opts.citus ? await deployCitus(ctx, receipt) : undefined;
      await ctx.out.result({ ok: true, ...receipt, seeded, ...(citus ? { citus: { ...citus.plan, ...(citus.ran ? { ran: citus.ran } : {}) } } : {}) }, async () =>
        [receipt.dryRun ? `plan for ${receipt.target} (dry run, nothing changed):\n${renderPlan(receipt.plan)}` : await renderReceipt(receipt, seeded),
          citus ? renderCitus(citus.plan, citus.ran) : ''].filter(Boolean).join('\n'));
    }));
}
