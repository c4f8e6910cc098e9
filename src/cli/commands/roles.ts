import type { Command } from 'commander';
import { chmod, writeFile } from 'node:fs/promises';
import { action, withTargetSql } from './action.js';
import { renderTable } from '../output.js';
import { usageError } from '../../errors.js';
import type { Context } from '../context.js';

/**
 * The one command family that hands out a password: once, to a 0600 file with
 * --password-file, or to an interactive terminal. Never to a pipe or a log.
 */
async function deliverPassword(ctx: Context, file: string | undefined, role: string, password: string): Promise<Record<string, unknown>> {
  if (file) {
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    ctx.out.info(`password for ${role} written to ${file} (mode 0600)`);
    return { passwordFile: file };
  }
  process.stderr.write(`password for ${role} (shown once, store it now):\n`);
  ctx.out.printSecret(password);
  return {};
}

function requireDelivery(ctx: Context, file: string | undefined): void {
  if (!file && !(process.stdout.isTTY && !ctx.out.json)) {
    throw usageError('refusing to print a password to a non-terminal', 'pass --password-file PATH (written with mode 0600)');
  }
}

export function registerRoles(program: Command): void {
  const roles = program.command('roles').description('LOGIN roles in the bookingdb group roles');
  roles.command('create <kind>').description('create a LOGIN role in a group: app, reporting, backup or monitor')
    .requiredOption('--name <name>', 'the new role name')
    .option('--password-file <path>', 'write the generated password here (mode 0600) instead of showing it')
    .addHelpText('after', '\nexample:\n  bookingdb roles create app --name booking_api --password-file ./booking_api.pw')
    .action(action(async (ctx, opts, kind: string) => {
      requireDelivery(ctx, opts.passwordFile);
      const { createLoginRole } = await import('../../roles/login-roles.js');
      await withTargetSql(ctx, async (sql) => {
        const role = await createLoginRole(sql, ctx.settings.rolePrefix, kind as never, String(opts.name));
        const delivered = await deliverPassword(ctx, opts.passwordFile, role.name, role.password);
        if (ctx.out.json) ctx.out.printJson({ ok: true, role: role.name, group: role.group, ...delivered });
        else ctx.out.info(`created login role ${role.name} in ${role.group}`);
      });
    }));
  roles.command('rotate <name>').description('give a login role a new generated password')
    .option('--password-file <path>', 'write the new password here (mode 0600) instead of showing it')
    .action(action(async (ctx, opts, name: string) => {
      requireDelivery(ctx, opts.passwordFile);
      const { rotatePassword } = await import('../../roles/login-roles.js');
      await withTargetSql(ctx, async (sql) => {
        const role = await rotatePassword(sql, ctx.settings.rolePrefix, name);
        const delivered = await deliverPassword(ctx, opts.passwordFile, role.name, role.password);
        if (ctx.out.json) ctx.out.printJson({ ok: true, role: role.name, ...delivered });
        else ctx.out.info(`rotated the password of ${role.name}`);
      });
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
