import type { Command } from 'commander';
import { action } from './action.js';
import type { Context } from '../context.js';
import { usageError } from '../../errors.js';

async function cluster(ctx: Context) {
  const mod = await import('../../local/cluster.js');
  return { mod, c: mod.localCluster(ctx.cwd, ctx.settings.localDir, ctx.settings.localPort, (m) => ctx.out.info(m)) };
}

export function registerLocal(program: Command): void {
  const local = program.command('local').description('the embedded local PostgreSQL in .bookingdb/local/');
  local.command('start').description('initialise (first time) and start it on 127.0.0.1').option('--port <port>', 'TCP port (default 54329)')
    .action(action(async (ctx, opts) => {
      const { mod, c } = await cluster(ctx);
      const s = await mod.startLocal(c);
      if (!s.started && s.port !== c.port) {
        // A running cluster keeps its port: moving it is a stop and a start.
        const move = `\`bookingdb local stop\`, then \`bookingdb local start --port ${c.port}\``;
        if (opts.port !== undefined) {
          throw usageError(`the local cluster is already running on 127.0.0.1:${s.port}, not ${c.port}`, `to move it, run ${move}`);
        }
        ctx.out.warn(`the local cluster is already running on 127.0.0.1:${s.port}, not on the configured ${c.port}; to move it, run ${move}`);
      }
      await ctx.out.result({ ok: true, ...s }, () =>
        `${s.started ? 'started' : 'already running:'} local cluster on 127.0.0.1:${s.port}${s.initialisedNow ? ' (initialised)' : ''}, data in ${s.dataDir}`);
    }));
  local.command('stop').description('stop it (data is kept)')
    .action(action(async (ctx) => {
      const { mod, c } = await cluster(ctx);
      const r = await mod.stopLocal(c);
      await ctx.out.result({ ok: true, ...r }, () => (r.stopped ? 'stopped the local cluster' : 'the local cluster was not running'));
    }));
  local.command('status').description('is it initialised and answering, and on which port (exit 0 running, 1 not)')
    .action(action(async (ctx) => {
      const { mod, c } = await cluster(ctx);
      const s = await mod.localStatus(c);
      await ctx.out.result({ ok: true, ...s }, () => {
        if (!s.initialised) return `no local cluster in ${c.dir} (run \`bookingdb local start\`)`;
        if (s.state === 'running') return `running on 127.0.0.1:${s.port} (pid ${s.pid}), data in ${s.dataDir}`;
        if (s.state === 'not answering') return `not answering on 127.0.0.1:${s.port} (pid ${s.pid} is alive; see ${s.logFile}), data in ${s.dataDir}`;
        return `stopped, data in ${s.dataDir}`;
      });
      return s.running ? 0 : 1;
    }));
  local.command('url').description("print the local cluster's superuser URL (contains its password), e.g. psql \"$(bookingdb local url)\"")
    .option('--database <name>', 'database in the URL (default bookingdb)')
    .action(action(async (ctx, opts) => {
      const { mod, c } = await cluster(ctx);
      const url = await mod.localUrl(c, opts.database ?? mod.LOCAL_DATABASE);
      // The one command whose job is to hand over a password, so not redacted, also in JSON.
      ctx.out.printSecret(ctx.out.json ? JSON.stringify({ ok: true, url }, null, 2) : url);
    }));
}
