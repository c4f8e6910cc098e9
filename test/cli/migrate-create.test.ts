import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPackage, runCli } from '../helpers/cli.js';

describe('migrate create names', () => {
  it("says so when '-' became '_' in the file name, in text and JSON", async () => {
    const pkg = await copyPackage();
    const r = await runCli(['migrate', 'create', 'add-room'], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/\d{4}_add_room\.sql/);
    expect(out).toMatch(/'-' became '_'/);
    const j = await runCli(['migrate', 'create', 'add-room-size', '--json'], { bin: pkg.bin });
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(basename(doc.file)).toMatch(/^\d{4}_add_room_size\.sql$/);
    expect(doc).toMatchObject({ name: 'add_room_size', given: 'add-room-size' });
    expect(existsSync(doc.file)).toBe(true);
    const plain = await runCli(['migrate', 'create', 'add_desk'], { bin: pkg.bin });
    expect(plain.stdout + plain.stderr).not.toMatch(/became/);
  });

  it('bad names are exit 2 and write nothing', async () => {
    const pkg = await copyPackage();
    const before = readdirSync(join(pkg.dir, 'migrations')).length;
    await Promise.all(['Add-Room', '../escape', 'a b', 'room.sql'].map(async (bad) => {
      const r = await runCli(['migrate', 'create', bad], { bin: pkg.bin });
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
    }));
    expect(readdirSync(join(pkg.dir, 'migrations')).length).toBe(before);
  });
});

describe('migrate --count', () => {
  it('is a strict whole number in range: exit 2 naming the flag', async () => {
    const cases: [string, string][] = [['up', '1e3'], ['up', '0x10'], ['up', '0'], ['down', '1.5'], ['down', '-1']];
    await Promise.all(cases.map(async ([dir, value]) => {
      const r = await runCli(['migrate', dir, '--count', value, '--yes', '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
      expect(r.code, `${dir} --count ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--count must be a whole number from 1 to \d+/);
    }));
  });
});
