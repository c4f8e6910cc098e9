import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { BookingDbError, ExitCode } from '../errors.js';
import { redactSecrets } from '../db/url.js';
import { registerCommands } from './commands/index.js';

/**
 * The single place that turns errors into exit codes (DESIGN.md's table). Commands
 * never call process.exit; they return an exit code or throw.
 */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command('bookingdb')
    .description('deploy and operate a multi-tenant booking platform on PostgreSQL 15+')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--database-url <url>', 'target database (else DATABASE_URL, the PG* variables, the config file, or the local cluster)'))
    .option('--json', 'print one JSON document on stdout; progress goes to stderr')
    .option('-q, --quiet', 'print only results and errors')
    .option('--no-color', 'no colour or spinners (also NO_COLOR)')
    .option('--debug', 'show stack traces')
    .option('-y, --yes', 'never prompt; assume yes')
    .option('--config <path>', 'config file (default ./bookingdb.config.json when present)')
    .option('--connect-timeout <seconds>', 'seconds to wait for a connection (default 10)')
    .option('--role-prefix <prefix>', 'prefix of the group roles (default bookingdb)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program); // subcommands inherit exitOverride from here
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error, debug, argv.includes('--json'));
  }
}

/** Prints an error (redacted) and returns its exit code. */
export function reportError(error: unknown, debug: boolean, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
    return ExitCode.usage; // commander already printed the message
  }
  const write = (s: string) => process.stderr.write(`${redactSecrets(s)}\n`);
  if (error instanceof BookingDbError) {
    if (json) {
      process.stdout.write(`${redactSecrets(JSON.stringify({ ok: false, error: { code: error.code, message: error.message, hint: error.hint, ...error.details } }, null, 2))}\n`);
    }
    write(`error: ${error.message}`);
    if (error.hint) write(`hint: ${error.hint}`);
    if (debug && error.cause instanceof Error && error.cause.stack) write(error.cause.stack);
    return error.exitCode;
  }
  const e = error as Error;
  write(`error: ${e?.message ?? String(error)}`);
  if (debug && e?.stack) write(e.stack);
  else write('hint: this is a bug in bookingdb; run again with --debug for the stack trace');
  return ExitCode.failed;
}
