import type { Command } from 'commander';
import { action, withTargetSql } from './action.js';
import { renderTable } from '../output.js';
import { usageError } from '../../errors.js';
import type { Context } from '../context.js';
import type { PasswordFile } from '../../roles/password-file.js';

/**
 * The one command family that hands out a password: once, to a 0600 file with
 * --password-file, or to an interactive terminal. Never to a pipe or a log. The file
 * is checked and created before connecting and put in place inside the transaction
 * that sets the password, so a bad path changes nothing on the server.
 */
export const DEFAULT_APP_STATEMENT_TIMEOUT = '5s';
export const DEFAULT_APP_IDLE_IN_TRANSACTION_TIMEOUT = '60s';

function requireDelivery(ctx: Context, file: string | undefined): void {
  if (!file && !(process.stdout.isTTY && !ctx.out.json)) {
    throw usageError('refusing to print a password to a non-terminal', 'pass --password-file PATH (written with mode 0600)');
  }
}

/** The deliver hook for the core: write, then rename into place (before commit). */
function deliverTo(file: PasswordFile | undefined): ((password: string) => Promise<void>) | undefined {
  return file ? async (password) => { await file.write(password); await file.commit(); } : undefined;
}

function showOnce(ctx: Context, file: PasswordFile | undefined, role: string, password: string): Record<string, unknown> {
  if (file) {
    ctx.out.info(`password for ${role} written to ${file.path} (mode 0600)`);
    return { passwordFile: file.path };
  }
  process.stderr.write(`password for ${role} (shown once, store it now):\n`);
  ctx.out.printSecret(password);
  return {};
}

async function preparedFile(path: string | undefined): Promise<PasswordFile | undefined> {
  if (path === undefined) return undefined;
  const { preparePasswordFile } = await import('../../roles/password-file.js');
  return preparePasswordFile(String(path));
}

async function appLimits(ctx: Context, kind: string, opts: Record<string, any>) {
  const { parseDuration } = await import('../../roles/durations.js');
  if (kind !== 'app') {
    for (const flag of ['statementTimeout', 'idleInTransactionTimeout']) {
      if (opts[flag] !== undefined) throw usageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to app logins only`, 'leave it out for this kind');
    }
    return undefined;
  }
  // flag > BOOKINGDB_APP_STATEMENT_TIMEOUT > roles.appStatementTimeout > 5s (settings validated the last three)
  const statementTimeout = opts.statementTimeout !== undefined
    ? parseDuration('--statement-timeout', String(opts.statementTimeout))
    : parseDuration('roles.appStatementTimeout', ctx.settings.appStatementTimeout ?? DEFAULT_APP_STATEMENT_TIMEOUT);
  const idleInTransactionTimeout = parseDuration('--idle-in-transaction-timeout', String(opts.idleInTransactionTimeout ?? DEFAULT_APP_IDLE_IN_TRANSACTION_TIMEOUT));
  return { statementTimeout, idleInTransactionTimeout };
}

export function registerRoles(program: Command): void {
  const roles = program.command('roles').description('LOGIN roles in the bookingdb group roles');
  roles.command('create <kind>').description('create a LOGIN role in a group: app, reporting, backup or monitor')
    .requiredOption('--name <name>', 'the new role name')
    .option('--password-file <path>', 'write the generated password to this new file (mode 0600) instead of showing it')
    .option('--statement-timeout <duration>', `app logins: statement_timeout for the login, e.g. 5s, 500ms; 0 disables (default ${DEFAULT_APP_STATEMENT_TIMEOUT})`)
    .option('--idle-in-transaction-timeout <duration>', `app logins: idle_in_transaction_session_timeout; 0 disables (default ${DEFAULT_APP_IDLE_IN_TRANSACTION_TIMEOUT})`)
    .addHelpText('after', '\nexample:\n  bookingdb roles create app --name booking_api --password-file ./booking_api.pw')
    .action(action(async (ctx, opts, kind: string) => {
      requireDelivery(ctx, opts.passwordFile);
      const { createLoginRole, parseLoginKind, validateRoleName } = await import('../../roles/login-roles.js');
      const roleKind = parseLoginKind(kind);
      validateRoleName(String(opts.name));
      const limits = await appLimits(ctx, roleKind, opts);
      const file = await preparedFile(opts.passwordFile);
      try {
        await withTargetSql(ctx, async (sql) => {
          const role = await createLoginRole(sql, ctx.settings.rolePrefix, roleKind, String(opts.name), { limits, deliver: deliverTo(file) });
          const delivered = showOnce(ctx, file, role.name, role.password);
          const settings = limits ? { statementTimeout: limits.statementTimeout.text, idleInTransactionTimeout: limits.idleInTransactionTimeout.text } : undefined;
          if (ctx.out.json) ctx.out.printJson({ ok: true, role: role.name, group: role.group, ...delivered, ...(settings ? { settings } : {}) });
          else {
            ctx.out.info(`created login role ${role.name} in ${role.group}`);
            if (settings) ctx.out.info(`set statement_timeout = ${settings.statementTimeout}, idle_in_transaction_session_timeout = ${settings.idleInTransactionTimeout} for ${role.name}`);
          }
        });
      } finally {
        await file?.discard();
      }
    }));
  roles.command('rotate <name>').description('give a login role a new generated password')
    .option('--password-file <path>', 'write the new password here (mode 0600, replacing a file of yours) instead of showing it')
    .action(action(async (ctx, opts, name: string) => {
      requireDelivery(ctx, opts.passwordFile);
      const { rotatePassword, validateRoleName } = await import('../../roles/login-roles.js');
      validateRoleName(name);
      const file = await preparedFile(opts.passwordFile);
      try {
        await withTargetSql(ctx, async (sql) => {
          const role = await rotatePassword(sql, ctx.settings.rolePrefix, name, { deliver: deliverTo(file) });
          const delivered = showOnce(ctx, file, role.name, role.password);
          if (ctx.out.json) ctx.out.printJson({ ok: true, role: role.name, ...delivered });
          else ctx.out.info(`rotated the password of ${role.name}`);
        });
      } finally {
        await file?.discard();
      }
    }));
  roles.command('list').description('login roles and their groups')
    .action(action(async (ctx) => {
      const { listLoginRoles } = await import('../../roles/login-roles.js');
      await withTargetSql(ctx, async (sql) => {
        const list = await listLoginRoles(sql, ctx.settings.rolePrefix);
        await ctx.out.result({ ok: true, roles: list }, () =>
          list.length ? renderTable(['role', 'groups', 'login', 'valid until'], list.map((r) => [r.name, r.groups.join(', '), r.canLogin ? 'yes' : 'no', r.validUntil ?? 'forever'])) : 'no roles yet');
      });
    }));
}
