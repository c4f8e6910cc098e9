import { describe, expect, it } from 'vitest';
import { gradeRank, gradeStatement } from '../../src/slow-queries/grade.js';
import { notLoadedError, preloadLine } from '../../src/slow-queries/slow-queries.js';
import { shortenQuery } from '../../src/slow-queries/render.js';

describe('grading (pure)', () => {
  it('grades by mean time and hit ratio, best grade whose limits are all met', () => {
    expect(gradeStatement({ meanMs: 0.4, hitRatio: 1, share: 0.01 }).grade).toBe('A');
    expect(gradeStatement({ meanMs: 0.4, hitRatio: null, share: null }).grade).toBe('A');
    expect(gradeStatement({ meanMs: 4, hitRatio: 0.97, share: 0.01 }).grade).toBe('B'); // fast but reads from disk
    expect(gradeStatement({ meanMs: 20, hitRatio: 1, share: 0.01 }).grade).toBe('B');
    expect(gradeStatement({ meanMs: 80, hitRatio: 0.999, share: 0.01 }).grade).toBe('C');
    expect(gradeStatement({ meanMs: 80, hitRatio: 0.5, share: 0.01 }).grade).toBe('D');
    expect(gradeStatement({ meanMs: 400, hitRatio: 1, share: 0.01 }).grade).toBe('D');
    expect(gradeStatement({ meanMs: 501, hitRatio: 1, share: 0 }).grade).toBe('F');
  });

  it('a non-A statement that takes at least 20% of all time drops one grade; a fast dominant one does not', () => {
    const c = gradeStatement({ meanMs: 30, hitRatio: 0.995, share: 0.34 });
    expect(c.grade).toBe('D');
    expect(c.reason).toBe('mean 30.0 ms, hit 99.5% -> C; 34% of all time -> D');
    expect(gradeStatement({ meanMs: 1.5, hitRatio: 1, share: 0.6 }).grade).toBe('A');
    expect(gradeStatement({ meanMs: 300, hitRatio: 1, share: 0.9 }).grade).toBe('F');
    expect(gradeStatement({ meanMs: 3000, hitRatio: 1, share: 0.9 }).reason).toBe('mean 3000 ms, hit 100% -> F');
    expect(gradeRank('A')).toBeLessThan(gradeRank('F'));
  });

  it('prints the postgresql.conf line keeping the libraries already preloaded', () => {
    expect(preloadLine(null)).toBe("shared_preload_libraries = 'pg_stat_statements'");
    expect(preloadLine('')).toBe("shared_preload_libraries = 'pg_stat_statements'");
    expect(preloadLine('auto_explain, pg_cron')).toBe("shared_preload_libraries = 'auto_explain,pg_cron,pg_stat_statements'");
    const e = notLoadedError({ installed: true, preloaded: false, preload: 'auto_explain' });
    expect(e.exitCode).toBe(4);
    expect(e.hint).toContain("shared_preload_libraries = 'auto_explain,pg_stat_statements'");
    const missing = notLoadedError({ installed: false, preloaded: false, preload: '' });
    expect(missing.hint).toContain("shared_preload_libraries = 'pg_stat_statements'");
    expect(missing.hint).toContain('CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA ext;');
  });

  it('collapses and truncates query text for the table', () => {
    expect(shortenQuery('select\n   1\tfrom   t', 60)).toBe('select 1 from t');
    expect(shortenQuery('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
