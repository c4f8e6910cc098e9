import type { Command } from 'commander';
import type { Sql } from 'postgres';
import { createContext, type Context } from '../context.js';

/**
 * Wraps a command body: builds the Context from global + command flags, runs the
 * body, and turns a returned number into the process exit code.
 */
export function action<A extends unknown[]>(fn: (ctx: Context, opts: Record<string, any>, ...args: A) => Promise<number | void>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Record<string, any>;
    const ctx = await createContext(opts, { lockWait: opts.lockWait, lockTimeout: opts.lockTimeout, port: opts.port });
    const positional = args.slice(0, -2) as A; // drop (options, command)
    const code = await fn(ctx, opts, ...positional);
    if (typeof code === 'number') process.exitCode = code;
  };
}

/** Asks yes/no on a TTY (inquirer); callers only ask when ctx.canPrompt. */
export async function confirmPrompt(message: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false });
}

/** Connects to the target (one connection), runs fn, and always closes it. */
export async function withTargetSql<T>(ctx: Context, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const { connect } = await import('../../db/connect.js');
  const target = await ctx.target();
  const sql = await connect(target.connection, { connectTimeoutSeconds: ctx.settings.connectTimeoutSeconds, max: 1 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
