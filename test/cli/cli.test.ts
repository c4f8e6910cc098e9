import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

describe('CLI conventions', () => {
  it('--help lists every command and exits 0; an unknown command or flag exits 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['deploy', 'migrate', 'roles', 'seed', 'local']) expect(help.stdout).toContain(cmd);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['deploy', '--no-such-flag'])).code).toBe(2);
  });

  it('--json prints exactly one JSON document on stdout, progress on stderr, and no colour codes', async () => {
    const db = await createTestDatabase();
    const r = await runCli(['migrate', 'status', '--json', '--database-url', db.url], { env: { FORCE_COLOR: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pending).toEqual([]);
    expect(doc.applied[0]).toMatchObject({ name: '0001_foundation', state: 'applied' });
    expect(doc.applied[0].appliedSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout + r.stderr).not.toMatch(/\x1b\[/);
  });

  it('reads the database URL from bookingdb.config.json, and a flag overrides it', async () => {
    const db = await createTestDatabase();
    const cwd = scratchDir();
    writeFileSync(join(cwd, 'bookingdb.config.json'), JSON.stringify({ databaseUrl: db.url }));
    const fromFile = await runCli(['migrate', 'verify'], { cwd });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const flag = await runCli(['migrate', 'verify', '--database-url', 'postgres://x:y@127.0.0.1:1/db'], { cwd });
    expect(flag.code).toBe(3);
    const env = await runCli(['migrate', 'verify'], { cwd, env: { DATABASE_URL: 'postgres://x:y@127.0.0.1:1/db' } });
    expect(env.code).toBe(3);
  });

  it('migrate create writes a numbered file with Up and Down sections; bad names exit 2', async () => {
    const { copyPackage } = await import('../helpers/cli.js');
    const pkg = await copyPackage();
    const r = await runCli(['migrate', 'create', 'add_room_capacity', '--json'], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(0);
    const { file } = JSON.parse(r.stdout);
    expect(file).toMatch(/migrations\/\d{4}_add_room_capacity\.sql$/);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8')).toMatch(/-- Up Migration[\s\S]*-- Down Migration/);
    expect((await runCli(['migrate', 'create', '../escape'], { bin: pkg.bin })).code).toBe(2);
  });

  it('migrate down asks for --yes without a terminal, then reverts and re-applies', async () => {
    const db = await createTestDatabase();
    const { copyPackage } = await import('../helpers/cli.js');
    const pkg = await copyPackage();
    writeFileSync(join(pkg.dir, 'migrations/0950_reversible.sql'), '-- Up Migration\nCREATE TABLE ops.reversible_probe (id int PRIMARY KEY);\n-- Down Migration\nDROP TABLE ops.reversible_probe;\n');
    expect((await runCli(['migrate', 'up', '--database-url', db.url], { bin: pkg.bin })).code).toBe(0);
    expect(await db.sql`select to_regclass('ops.reversible_probe') is not null as ok`).toEqual([{ ok: true }]);
    const refused = await runCli(['migrate', 'down', '--database-url', db.url], { bin: pkg.bin });
    expect(refused.code).toBe(2);
    const down = await runCli(['migrate', 'down', '--yes', '--database-url', db.url], { bin: pkg.bin });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('reverted 0950_reversible');
    expect(await db.sql`select to_regclass('ops.reversible_probe') is not null as ok`).toEqual([{ ok: false }]);
  });
});

describe('no password in any output', () => {
  it('deploy, migrate and roles list print the target redacted, in text and JSON, on success and failure', async () => {
    const db = await createTestDatabase();
    const password = new URL(db.url).password;
    expect(password.length).toBeGreaterThan(8);
    const runs = [
      await runCli(['deploy', '--database-url', db.url]),
      await runCli(['deploy', '--json', '--dry-run', '--database-url', db.url]),
      await runCli(['migrate', 'status', '--database-url', db.url]),
      await runCli(['roles', 'list', '--json', '--database-url', db.url]),
      await runCli(['deploy', '--debug', '--database-url', db.url.replace(/\/[^/]*$/, '/no_such_db_x'), '--connect-timeout', '2', '--lock-wait', 'x']),
    ];
    for (const r of runs) {
      expect(r.stdout + r.stderr).not.toContain(password);
    }
    expect(runs[0].stderr).toContain('postgres://postgres:***@');
    expect(JSON.parse(runs[1].stdout).target).toMatch(/^postgres:\/\/postgres:\*\*\*@/);
  });
});

describe('a password with every awkward character never appears in any output', () => {
  // Distinct segments, so a leaked tail (after an @ or a /) is caught too.
  const segments = ['Kq9z', 'Wv3m', 'Jr5t', 'Lp8n', 'Hs2d', 'Yc4b', 'Nf6g'];
  const password = `${segments[0]}/${segments[1]}@${segments[2]}?${segments[3]}:"${segments[4]}'\\${segments[5]}#${segments[6]}`;

  function expectClean(r: { stdout: string; stderr: string }, what: string) {
    const all = r.stdout + r.stderr;
    for (const seg of segments) expect(all, `${what}: ${all}`).not.toContain(seg);
    expect(all).not.toContain(encodeURIComponent(password));
  }

  it('deploy, migrate status and roles list: text and --json, well-formed and malformed URLs, reachable or not', async () => {
    const db = await createTestDatabase();
    const { scramVerifier } = await import('../../src/roles/scram.js');
    const role = `bk_pw_${Math.random().toString(16).slice(2, 10)}`;
    // A verifier, never the password itself, reaches the server (and its log).
    await db.sql.unsafe(`create role ${role} login superuser password '${scramVerifier(password)}'`);
    try {
      const admin = new URL(db.url);
      const good = `postgres://${role}:${encodeURIComponent(password)}@${admin.host}/${db.name}`;
      const raw = `postgres://${role}:${password}@${admin.host}/${db.name}`;
      const runs: [string, string[], number][] = [
        ['deploy --json ok', ['deploy', '--json', '--dry-run', '--database-url', good], 0],
        ['migrate status ok', ['migrate', 'status', '--database-url', good], 0],
        ['roles list --json ok', ['roles', 'list', '--json', '--database-url', good], 0],
        ['deploy raw (malformed)', ['deploy', '--database-url', raw], 2],
        ['migrate status --json raw (malformed)', ['migrate', 'status', '--json', '--database-url', raw], 2],
        ['roles list unreachable', ['roles', 'list', '--connect-timeout', '2', '--database-url', good.replace(admin.host, '127.0.0.1:1')], 3],
        ['deploy --json unreachable', ['deploy', '--json', '--connect-timeout', '2', '--database-url', good.replace(admin.host, '127.0.0.1:1')], 3],
        ['a space, unreachable', ['deploy', '--connect-timeout', '2', '--database-url', `postgres://u:${segments[0]} ${segments[1]}@127.0.0.1:1/db`], 3],
        ['a space and an @, --json, unreachable', ['roles', 'list', '--json', '--connect-timeout', '2', '--database-url', `postgres://u:${segments[0]} ${segments[1]}@${segments[2]}@127.0.0.1:1/db`], 3],
        ['wrong password --debug', ['migrate', 'status', '--debug', '--database-url', good.replace(segments[6], 'XXXX')], 3],
      ];
      for (const [what, args, code] of runs) {
        const r = await runCli(args);
        expect(r.code, `${what}: ${r.stderr}`).toBe(code);
        expectClean(r, what);
        if (args.includes('--json')) expect(() => JSON.parse(r.stdout), what).not.toThrow();
      }
    } finally {
      await db.sql.unsafe(`drop role if exists ${role}`);
    }
  });
});

describe('deploy --demo (the quick start)', () => {
  it('deploys, seeds the demo tenants, and the README query finds free slots', async () => {
    const db = await createTestDatabase({ empty: true });
    const r = await runCli(['deploy', '--demo', '--json', '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.seeded).toMatchObject({ tenants: 3, bookings: 2000 });
    const slots = await db.sql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', id::text, true) from booking.tenants where slug = 'demo-berlin-salon-1'`;
      return tx`
        select s.resource_id, s.starts_at, s.ends_at
          from booking.services sv,
               booking.available_slots(sv.tenant_id, sv.id, now(), now() + interval '7 days') s
         where sv.tenant_id = booking.current_tenant_id() and sv.name = 'Haircut'`;
    });
    expect(slots.length).toBeGreaterThan(0);
    expect(slots.every((s) => new Date(s.starts_at).getTime() > Date.now())).toBe(true);
  });
});
