import type { Command } from 'commander';
import { action } from './action.js';

/**
 * `bookingdb config schema` prints the JSON Schema of bookingdb.config.json (the same zod
 * schema every command validates the file with), for editors: save it and point the
 * file's `$schema` key at it. `bookingdb config check` validates the file and says which
 * sections it sets; a bad file is exit 2 naming the key, as for every command.
 */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('the config file bookingdb.config.json: its JSON Schema, and a check');
  config.command('schema').description('print the JSON Schema of bookingdb.config.json (e.g. > bookingdb.schema.json, then "$schema": "./bookingdb.schema.json")')
    .action(action(async (ctx) => {
      const { configJsonSchema } = await import('../../config/schema.js');
      const schema = { title: 'bookingdb.config.json', ...configJsonSchema() };
      ctx.out.printJson(schema); // JSON in text mode too: it is the command's output
    }));
  config.command('check').description('validate the config file (exit 2 naming the first bad key) and list what it sets')
    .action(action(async (ctx) => {
      const path = ctx.settings.configPath;
      const keys = Object.keys(ctx.config).filter((k) => k !== '$schema');
      await ctx.out.result({ ok: true, file: path ?? null, keys }, () =>
        path ? `${path} is valid${keys.length ? `: sets ${keys.join(', ')}` : ' (and empty)'}` : 'no config file here (bookingdb.config.json): every setting comes from flags, the environment or defaults');
    }));
}
