import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir } from '../helpers/cli.js';

describe('usage: exit 2 and help for a command group without its subcommand', () => {
  for (const group of [[], ['migrate'], ['roles'], ['local'], ['seed']]) {
    it(`bookingdb ${group.join(' ')}`.trim(), async () => {
      const r = await runCli(group);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`Usage: bookingdb${group.length ? ` ${group[0]}` : ''}`);
      expect(r.stderr).toMatch(/Commands:/);
    });
  }

  it('--help stays exit 0 (also for a group), and `help migrate` too', async () => {
    for (const args of [['--help'], ['migrate', '--help'], ['help', 'migrate']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: bookingdb/);
    }
  });

  it('subcommand help shows the global flags', async () => {
    const r = await runCli(['migrate', 'status', '--help']);
    expect(r.code).toBe(0);
    const global = r.stdout.slice(r.stdout.indexOf('Global Options:'));
    expect(r.stdout).toContain('Global Options:');
    for (const flag of ['--json', '--database-url', '--connect-timeout', '--config', '--yes']) expect(global).toContain(flag);
  });

  it('with --json, a usage error prints the error document on stdout', async () => {
    const r = await runCli(['deploy', '--no-such-flag', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { code: 'usage', message: "unknown option '--no-such-flag'", hint: 'run bookingdb deploy --help' } });
    const bare = await runCli(['migrate', '--json']);
    expect(bare.code).toBe(2);
    expect(JSON.parse(bare.stdout).error).toMatchObject({ code: 'usage', message: 'bookingdb migrate needs a subcommand' });
  });
});

describe('bad numbers and names exit 2 up front, naming their source', () => {
  const url = 'postgres://u:pw@127.0.0.1:1/db';
  const cases: [string, string[], NodeJS.ProcessEnv, unknown, RegExp][] = [
    ['--lock-timeout 0', ['deploy', '--lock-timeout', '0'], {}, undefined, /^error: --lock-timeout must be a whole number from 1 to 600000 \(ms\), got "0"$/m],
    ['--connect-timeout 1e3', ['migrate', 'status', '--connect-timeout', '1e3'], {}, undefined, /^error: --connect-timeout must be a whole number from 1 to 3600/m],
    ['--lock-wait 0x10', ['deploy', '--lock-wait', '0x10'], {}, undefined, /^error: --lock-wait must be a whole number from 0 to 86400/m],
    ['BOOKINGDB_LOCK_WAIT=soon', ['deploy'], { BOOKINGDB_LOCK_WAIT: 'soon' }, undefined, /^error: BOOKINGDB_LOCK_WAIT must be a whole number/m],
    ['config lockTimeoutMs 1e21', ['deploy'], {}, { lockTimeoutMs: 1e21 }, /^error: .*bookingdb\.config\.json: lockTimeoutMs must be a whole number from 1 to 600000 \(ms\), got 1e\+21$/m],
    ['config local.prot', ['migrate', 'status'], {}, { local: { prot: 1 } }, /^error: .*bookingdb\.config\.json: unknown key "local\.prot"$/m],
    ['--role-prefix pg', ['roles', 'list', '--role-prefix', 'pg'], {}, undefined, /^error: invalid --role-prefix "pg"\nhint: PostgreSQL reserves role names starting with pg_/m],
    ['--role-prefix pg_x', ['deploy', '--role-prefix', 'pg_x'], {}, undefined, /^error: invalid --role-prefix "pg_x"/m],
    ['config databaseUrl malformed', ['migrate', 'status'], {}, { databaseUrl: 'postgres://u:se/cret@h/db' }, /malformed database URL.*\(from .*bookingdb\.config\.json: databaseUrl\)/],
  ];
  for (const [name, args, env, config, pattern] of cases) {
    it(name, async () => {
      const cwd = scratchDir();
      if (config) writeFileSync(join(cwd, 'bookingdb.config.json'), JSON.stringify(config));
      const withUrl = (config as { databaseUrl?: string } | undefined)?.databaseUrl ? args : [...args, '--database-url', url];
      const r = await runCli(withUrl, { cwd, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/this is a bug/);
      expect(r.stderr).not.toContain('se/cret');
    });
  }
});

