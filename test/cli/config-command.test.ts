import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchDir } from '../helpers/cli.js';

describe('bookingdb config schema / check', () => {
  it('prints the JSON Schema of every section, which names the allowed keys and rejects the rest', async () => {
    const r = await runCli(['config', 'schema']);
    expect(r.code, r.stderr).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(
      ['databaseUrl', 'rolePrefix', 'lockTimeoutMs', 'local', 'roles', 'healthCheck', 'metrics', 'slowQueries', 'doctor']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.local.additionalProperties).toBe(false);
    expect(schema.properties.lockTimeoutMs).toMatchObject({ type: 'integer', minimum: 1, maximum: 600000 });
    // keys with defaults are optional in what a person writes
    expect(schema.properties.healthCheck.required ?? []).toEqual([]);
  });

  it('check: a valid file lists its sections; a mistyped nested key is exit 2 naming its path, for every command', async () => {
    const cwd = scratchDir();
    const file = join(cwd, 'bookingdb.config.json');
    writeFileSync(file, JSON.stringify({ $schema: './bookingdb.schema.json', healthCheck: { thresholds: { connections: { warning: 70 } } }, metrics: { tenantLabels: 'top:5' } }));
    const ok = await runCli(['config', 'check'], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('is valid: sets healthCheck, metrics');
    writeFileSync(file, JSON.stringify({ healthCheck: { thresholds: { conections: { warning: 70 } } } }));
    for (const args of [['config', 'check'], ['health-check'], ['metrics']]) {
      const bad = await runCli(args, { cwd });
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain('unknown key "healthCheck.thresholds.conections"');
    }
    writeFileSync(file, JSON.stringify({ metrics: { tenantLabels: 'top:zero' } }));
    const badValue = await runCli(['config', 'check'], { cwd });
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toMatch(/metrics\.tenantLabels: must be none, all or top:N/);
  });
});
