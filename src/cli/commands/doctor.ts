import type { Command } from 'commander';
import { action, withTargetSql } from './action.js';
import { renderTable } from '../output.js';

export function registerDoctor(program: Command): void {
  program.command('doctor').description('server facts, postgresql.conf advice for the machine, and security findings (prints ALTER lines, never runs them)')
    .option('--memory <size>', "the database server's RAM, e.g. 16GB (default: this machine's)")
    .option('--cpus <n>', "the database server's CPU cores (default: this machine's)")
    .option('--storage <kind>', 'ssd or hdd (default ssd)')
    .option('--connections <n>', 'client connections the application opens at peak (sizes max_connections and pooling)')
    .addHelpText('after', '\nexit code: 1 when a finding is must-fix (security), else 0\nexample:\n  bookingdb doctor --memory 16GB --cpus 4 --storage ssd --connections 400')
    .action(action(async (ctx, opts) => {
      const { machineFromFlags } = await import('../../doctor/machine.js');
      const { doctorConfigSchema } = await import('../../doctor/config.js');
      const section = ctx.config.doctor; // flags > config section (the database server's machine) > this machine
      const machine = machineFromFlags({
        memory: opts.memory ?? section?.memory, cpus: opts.cpus ?? (section?.cpus === undefined ? undefined : String(section.cpus)),
        storage: opts.storage ?? section?.storage, connections: opts.connections ?? (section?.connections === undefined ? undefined : String(section.connections)),
      });
      const { runDoctor, doctorExitCode } = await import('../../doctor/doctor.js');
      const { renderDoctor } = await import('../../doctor/render.js');
      const defaults = section ?? doctorConfigSchema.parse({});
      return withTargetSql(ctx, async (sql) => {
        const report = await runDoctor(sql, { machine, appRole: `${ctx.settings.rolePrefix}_app`, statementTimeoutMs: defaults.statementTimeoutMs });
        const code = doctorExitCode(report);
        await ctx.out.result({ ok: code === 0, ...report }, () => renderDoctor(report, renderTable));
        return code;
      });
    }));
}
