import { Command, CommanderError, Option } from 'commander';
import { BookingDbError, ExitCode, describeUnexpected } from '../errors.js';
import { redactDeep, redactSecrets } from '../db/url.js';
import { registerCommands } from './commands/index.js';
import { packageVersion } from '../version.js';

// The single place that turns errors into exit codes (DESIGN.md's table). Commands
// never call process.exit; they return an exit code or throw.

/**
 * Settings every command of the tree gets, applied by walking it after registration
 * (so command files need not repeat them): help shows the global flags, and
 * everything commander prints on stderr is redacted.
 */
function configureTree(cmd: Command): void {
  cmd.configureHelp({ ...cmd.configureHelp(), showGlobalOptions: true });
  cmd.configureOutput({ ...cmd.configureOutput(), writeErr: (s) => process.stderr.write(redactSecrets(s)) });
  cmd.exitOverride();
  for (const sub of cmd.commands) configureTree(sub);
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
    .option('--connect-timeout <seconds>', 'seconds the whole connection handshake may take, 1 to 3600 (default 10)')
    .option('--role-prefix <prefix>', 'prefix of the group roles (default bookingdb)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  configureTree(program);
  return program;
}

/** The command a usage error is about: the registered commands named in argv, in order. */
function commandPath(program: Command, argv: string[]): string {
  const names = ['bookingdb'];
  let cmd = program;
  for (const token of argv.slice(2)) {
    const sub = cmd.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (sub) {
      names.push(sub.name());
      cmd = sub;
    }
  }
  return names.join(' ');
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error, debug, argv.includes('--json'), commandPath(program, argv));
  }
}

function printJsonError(code: string, message: string, hint?: string, details?: Record<string, unknown>): void {
  const doc = { ok: false, error: { code, message, ...(hint ? { hint } : {}), ...details } };
  process.stdout.write(`${JSON.stringify(redactDeep(doc), null, 2)}\n`);
}

/** Prints an error (redacted) and returns its exit code. */
export function reportError(error: unknown, debug: boolean, json: boolean, command = 'bookingdb'): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    if (error.code === 'commander.help' && error.exitCode === 0) return ExitCode.ok; // `bookingdb help`
    // commander already printed the message (or, for a group without its subcommand, the help) on stderr
    const message = error.code === 'commander.help'
      ? `${command} needs a subcommand`
      : error.message.replace(/^error: /, '');
    if (json) printJsonError('usage', message, `run ${command} --help`);
    return ExitCode.usage;
  }
  const write = (s: string) => process.stderr.write(`${redactSecrets(s)}\n`);
  const known = error instanceof BookingDbError ? error : describeUnexpected(error);
  if (known) {
    if (json) printJsonError(known.code, known.message, known.hint, known.details);
    write(`error: ${known.message}`);
    if (known.hint) write(`hint: ${known.hint}`);
    const stack = known.cause instanceof Error ? known.cause.stack : known.stack;
    if (debug && stack) write(stack);
    return known.exitCode;
  }
  const e = error as Error;
  if (json) printJsonError('internal', e?.message ?? String(error), 'this is a bug in bookingdb; run again with --debug for the stack trace');
  write(`error: ${e?.message ?? String(error)}`);
  if (debug && e?.stack) write(e.stack);
  else write('hint: this is a bug in bookingdb; run again with --debug for the stack trace');
  return ExitCode.failed;
}
