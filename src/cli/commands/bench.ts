import { Option, type Command } from 'commander';
import { action } from './action.js';
import { renderTable } from '../output.js';
import { ExitCode, usageError } from '../../errors.js';

const HELP = `
what it does:
  clients loop on the booking API for --duration after --warmup, one transaction per call
  (tenant set with set_config, as the app does), as a temporary LOGIN member of
  <prefix>_app made for the run and dropped after (or --app-url). It reports per operation
  calls, throughput, p50/p95/p99/max and errors by SQLSTATE (23P01 conflicts apart), the
  bench process's own CPU, proves that no active allocations of the touched resources
  overlap, and exits 1 on an error other than 23P01, an overlap, or a missed --target-p95.
  default --target-p95: availability=5ms,book=20ms (the seed guides' 50 ms and 200 ms / 10).
--anchor: the same clients also run against a bare baseline in a scratch schema (advisory
  lock + overlap check + insert under the same exclusion constraint; a naive per-slot
  generate_series availability query), in alternating phases of about 5 s, with the same
  slot picking; prints the procedures' throughput as a ratio of the baseline's.
examples:
  bookingdb bench --seed small --duration 10s
  bookingdb bench --clients 8 --mix availability=100 --anchor
  bookingdb bench --clients 32 --hot-spot --mix book=100 --json`;

export function registerBench(program: Command): void {
  program.command('bench')
    .description('load test of availability and booking: latency percentiles, throughput, overlap proof')
    .option('--clients <n>', 'concurrent clients, 1 to 1000 (default 8)')
    .option('--duration <time>', 'measured time, e.g. 30s (default 30s; with --anchor each system gets this much)')
    .option('--warmup <time>', 'unmeasured time first, per system (default 5s; 0 for none)')
    .option('--mix <weights>', 'operation weights (default availability=70,book=20,cancel=5,reschedule=5)')
    .option('--tenants <n>', 'tenants to spread the load over (default 5)')
    .option('--days <n>', 'local days of the booking window from today, 1 to 31 (default 28)')
    .option('--free-share <percent>', 'share of bookings that take a slot available_slots offered (default 50; the rest are random slots)')
    .option('--hot-spot', 'every client on 20 resources of one tenant for the next 2 days')
    .addOption(new Option('--seed <size>', 'seed demo data first').choices(['small', '1m']))
    .option('--app-url <url>', 'workers connect with this login (a member of <prefix>_app) instead of a temporary one')
    .option('--no-prepare', 'no prepared statements (PgBouncer in transaction pooling)')
    .option('--replica-url <url>', 'availability reads go to this server (a replica); without a user in it, as the workers\' login')
    .option('--anchor', 'also run the same clients against a bare baseline and print the throughput ratio')
    .option('--anchor-copy <what>', 'the baseline\'s allocations: history (default: every active allocation of the benched resources, the data the procedures read), window (only the window widened by a day) or all (every active allocation of the database: a table as big as the procedures\', slower to set up)')
    .option('--tx <mode>', 'how each call is sent: statement (default: one statement, its own transaction, the tenant set in a subquery) or explicit (BEGIN, set_config and the call pipelined, COMMIT: an app that writes its own rows in the same transaction)')
    .option('--target-p95 <targets>', 'p95 targets, e.g. availability=5ms,book=20ms (exit 1 when missed)')
    .addHelpText('after', HELP)
    .action(action(async (ctx, opts) => {
      const { parseBenchOptions } = await import('../../bench/options.js');
      const { parseDatabaseUrl } = await import('../../db/url.js');
      const options = parseBenchOptions(opts);
      const parseFlagUrl = (flag: string, url: string | undefined) => {
        if (url === undefined) return undefined;
        try {
          return parseDatabaseUrl(url);
        } catch (error) {
          throw usageError(`${flag}: ${(error as Error).message}`, 'pass a postgres:// URL');
        }
      };
      const appTarget = parseFlagUrl('--app-url', opts.appUrl);
      const replicaTarget = parseFlagUrl('--replica-url', opts.replicaUrl);
      const target = await ctx.target();
      const { connect } = await import('../../db/connect.js');
      const { runBench } = await import('../../bench/run.js');
      const { progressLine, renderBenchReport } = await import('../../bench/report.js');
      const admin = await connect(target.connection, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 3 });
      const abort = new AbortController();
      const onSigint = () => {
        ctx.out.info('interrupted: finishing the calls in flight, then cleaning up (temporary login, anchor schema)');
        abort.abort();
      };
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      const tty = Boolean(process.stderr.isTTY) && !ctx.out.quiet;
      let report;
      try {
        report = await runBench(admin, {
          options, target: target.connection, rolePrefix: ctx.settings.rolePrefix,
          connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, appTarget, replicaTarget, signal: abort.signal,
          replicaOwnLogin: opts.replicaUrl !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/@]+@/i.test(String(opts.replicaUrl)),
          onProgress: tty ? (system, phase, ms, stats) => process.stderr.write(`\r\x1b[K${progressLine(system, phase, ms, stats)}`) : undefined,
          seed: options.seed ? async (sql) => {
            const { seedDemo } = await import('../../seed/demo.js');
            const { DEMO_SMALL } = await import('../../seed/run.js');
            const size = options.seed === '1m' ? { tenants: 20, locationsPerTenant: 2, resourcesPerLocation: 10, days: 365, bookings: 1_000_000 } : DEMO_SMALL;
            const step = await ctx.out.step(`seeding demo data (${size.tenants} tenants, ${size.bookings} bookings)`);
            await seedDemo(sql, size).then(() => step.done(), (error) => { step.fail(); throw error; });
          } : undefined,
        });
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
        if (tty) process.stderr.write('\r\x1b[K');
        await admin.end({ timeout: 5 });
      }
      await ctx.out.result(report, () => renderBenchReport(report, renderTable));
      if (!report.ok) for (const p of report.problems) ctx.out.error(p, 'see the report above; 23P01 conflicts alone never fail a run');
      return report.ok ? ExitCode.ok : ExitCode.failed;
    }));
}
