import type { Command } from 'commander';
import { action, confirmPrompt } from './action.js';
import { renderTable } from '../output.js';
import { BookingDbError, ExitCode, usageError } from '../../errors.js';

export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('versioned migrations (node-pg-migrate, migrations/*.sql)');

  const runner = (direction: 'up' | 'down') => action(async (ctx, opts) => {
    const { migrate: run } = await import('../../migrate/migrate.js');
    const { optionalInteger } = await import('../../validate.js');
    const count = optionalInteger('--count', opts.count as string | undefined, { min: 1, max: 10_000 });
    const target = await ctx.target();
    if (direction === 'down' && !ctx.yes) {
      if (!ctx.canPrompt) throw usageError('migrate down reverts schema changes and may drop data: pass --yes to confirm');
      if (!(await confirmPrompt(`revert ${count ?? 1} migration(s) on ${target.redacted}?`))) {
        throw new BookingDbError('aborted', 'migrate down aborted: nothing was changed');
      }
    }
    const ran = await run(direction, {
      url: target.url, rolePrefix: ctx.settings.rolePrefix, connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds,
      lockWaitSeconds: ctx.settings.lockWaitSeconds, count, log: (m) => ctx.out.debugLog(m),
    });
    await ctx.out.result({ ok: true, direction, migrations: ran }, () =>
      ran.length ? ran.map((m) => `${direction === 'up' ? 'applied' : 'reverted'} ${m.name}`).join('\n') : 'no migrations to run');
  });

  migrate.command('up').description('apply pending migrations (refuses when an applied file changed)')
    .option('--count <n>', 'apply at most n migrations').option('--lock-wait <seconds>', 'wait for a running deploy (default 60)')
    .action(runner('up'));
  migrate.command('down').description('revert the last migration(s); asks unless --yes')
    .option('--count <n>', 'revert n migrations (default 1)').option('--lock-wait <seconds>', 'wait for a running deploy (default 60)')
    .action(runner('down'));

  migrate.command('status').description('applied and pending migrations with checksums')
    .action(action(async (ctx) => {
      const { migrationStatus } = await import('../../migrate/migrate.js');
      const target = await ctx.target();
      const statuses = await migrationStatus(target.url, ctx.settings.connectTimeoutSeconds);
      await ctx.out.result({
        ok: true,
        applied: statuses.filter((s) => s.state !== 'pending'),
        pending: statuses.filter((s) => s.state === 'pending'),
      }, () => renderTable(['migration', 'state', 'sha256', 'applied at'],
        statuses.map((s) => [s.name, s.state, (s.appliedSha256 ?? s.fileSha256 ?? '').slice(0, 16), s.runOn])));
    }));

  migrate.command('verify').description('exit 1 when an applied migration file changed or is missing')
    .action(action(async (ctx) => {
      const { migrationStatus, driftedMigrations, describeDrift } = await import('../../migrate/migrate.js');
      const target = await ctx.target();
      const drift = driftedMigrations(await migrationStatus(target.url, ctx.settings.connectTimeoutSeconds));
      await ctx.out.result({ ok: drift.length === 0, drifted: drift }, () =>
        drift.length
          ? drift.map(describeDrift).join('\n')
          : 'all applied migrations match their files');
      return drift.length ? ExitCode.failed : ExitCode.ok;
    }));

  migrate.command('create <name>').description('write migrations/NNNN_<name>.sql with Up and Down sections')
    .action(action(async (ctx, _opts, name: string) => {
      const { createMigration } = await import('../../migrate/migrate.js');
      const created = await createMigration(name);
      await ctx.out.result({ ok: true, ...created }, () =>
        `created ${created.file}${created.renamed ? ` (migration ${created.name}: '-' became '_' in the file name)` : ''}`);
    }));
}
