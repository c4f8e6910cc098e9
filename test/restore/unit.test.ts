import { describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/backup/manifest.js';
import { checkManifestConsistency } from '../../src/restore/files.js';
import { dbnameArg } from '../../src/restore/archive.js';
import { scratchDatabaseName } from '../../src/restore/scratch.js';
import { restoreOptions } from '../../src/restore/verify.js';

const base: BackupManifest = {
  format: 'bookingdb-backup/1', id: '20261201T223015Z-3fa9', database: 'booking',
  server: { version: '15.18', versionNum: 150018, systemIdentifier: null }, pgDump: { version: '15.18', path: '/usr/bin/pg_dump' },
  bookingdbVersion: '0.1.0', migrations: { latest: '0009_x', count: 9 },
  startedAt: '2026-12-01T22:30:15Z', finishedAt: '2026-12-01T22:31:15Z',
  dump: { format: 'custom', compress: null, jobs: 1, snapshot: '00000004-1' }, encryption: null,
  files: [{ path: 'dump.pgdump', bytes: 10, sha256: '0'.repeat(64) }], bytes: 10, tables: { 'booking.bookings': 3 }, rows: 3,
};

describe('restore-verify: pure rules', () => {
  it('scratch names are lower-case [a-z0-9_], at most 63 bytes, and end in the backup id', () => {
    expect(scratchDatabaseName('booking', '20261201T223015Z-3fa9')).toBe('booking_verify_20261201t223015z_3fa9');
    expect(scratchDatabaseName('Book-ing "x"', '20261201T223015Z-3fa9')).toBe('book_ing__x__verify_20261201t223015z_3fa9');
    const long = scratchDatabaseName('d'.repeat(80), '20261201T223015Z-3fa9');
    expect(long).toHaveLength(63);
    expect(long.endsWith('_verify_20261201t223015z_3fa9')).toBe(true);
  });

  it('a manifest that lists a file outside its directory, contradicts its totals or its id is refused, naming manifest.json', () => {
    expect(checkManifestConsistency('/b/x', base.id, base)).toBeUndefined();
    for (const path of ['../../etc/passwd', '/etc/passwd', 'dump/../../x']) {
      expect(checkManifestConsistency('/b/x', base.id, { ...base, files: [{ ...base.files[0], path }] })?.message).toMatch(/^\/b\/x\/manifest\.json lists a file outside the backup directory/);
    }
    expect(checkManifestConsistency('/b/x', base.id, { ...base, rows: 4 })?.message).toContain('says 4 rows in all, but its tables add up to 3');
    expect(checkManifestConsistency('/b/x', '20261201T223015Z-0000', base)?.message).toContain('names backup 20261201T223015Z-3fa9, but it is in directory 20261201T223015Z-0000');
    expect(checkManifestConsistency('/b/x', base.id, { ...base, encryption: { format: 'age', recipients: ['age1x'] } })?.message).toContain('are not all .age files');
  });

  it('a database name reaches pg_restore as a quoted dbname, never as a connection string; PGOPTIONS carry the restore settings', () => {
    expect(dbnameArg("host=evil dbname=x")).toBe("dbname='host=evil dbname=x'");
    expect(dbnameArg("a'b\\c")).toBe("dbname='a\\'b\\\\c'");
    expect(restoreOptions('1GB', 2)).toBe('-c maintenance_work_mem=1GB -c max_parallel_maintenance_workers=2 -c statement_timeout=0 -c synchronous_commit=off');
  });
});
