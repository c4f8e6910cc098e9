import type { Command } from 'commander';
import { action } from './action.js';
import type { Context } from '../context.js';

async function cluster(ctx: Context) {
  const mod = await import('../../local/cluster.js');
  return { mod, c: mod.localCluster(ctx.cwd, ctx.settings.localDir, ctx.settings.localPort) };
}

export function registerLocal(program: Command): void {
  const local = program.command('local').description('the embedded local PostgreSQL in .bookingdb/local/');
  local.command('start').description('initialise (first time) and start it on 127.0.0.1').option('--port <port>', 'TCP port (default 54329)')
    .action(action(async (ctx) => {
      const { mod, c } = await cluster(ctx);
      const s = await mod.startLocal(c);
      await ctx.out.result({ ok: true, ...s }, () =>
        `${s.started ? 'started' : 'already running:'} local cluster on 127.0.0.1:${s.port}${s.initialisedNow ? ' (initialised)' : ''}, data in ${s.dataDir}`);
    }));
  local.command('stop').description('stop it (data is kept)')
    .action(action(async (ctx) => {
      const { mod, c } = await cluster(ctx);
      const r = await mod.stopLocal(c);
      await ctx.out.result({ ok: true, ...r }, () => (r.stopped ? 'stopped the local cluster' : 'the local cluster was not running'));
    }));
  local.command('status').description('is it initialised and running, and on which port')
    .action(action(async (ctx) => {
      const { mod, c } = await cluster(ctx);
      const s = await mod.localStatus(c);
      await ctx.out.result({ ok: true, ...s }, () =>
        !s.initialised ? `no local cluster in ${c.dir} (run \`bookingdb local start\`)` : `${s.running ? `running on 127.0.0.1:${s.port} (pid ${s.pid})` : 'stopped'}, data in ${s.dataDir}`);
      return s.running ? 0 : 1;
    }));
  local.command('url').description("print the local cluster's superuser URL (contains its password), e.g. psql \"$(bookingdb local url)\"")
    .option('--database <name>', 'database in the URL (default bookingdb)')
    .action(action(async (ctx, opts) => {
      const { mod, c } = await cluster(ctx);
      ctx.out.printSecret(await mod.localUrl(c, opts.database ?? mod.LOCAL_DATABASE));
    }));
}
