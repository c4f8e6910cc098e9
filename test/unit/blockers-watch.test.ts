import { describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { watchBlockers } from '../../src/deploy/blockers.js';

// withLockTimeout stops a blocker watcher after every statement; stop() used to wait out
// the watcher's sleep, so every maintain batch paid a whole interval (200 ms) for nothing.
describe('watchBlockers', () => {
  it('stop() returns without waiting out the poll interval (an hour here)', async () => {
    let polls = 0;
    const fake = (async () => { polls++; return [{ pid: 42, state: 'idle in transaction', query: 'lock table x', age: 3 }]; }) as unknown as Sql;
    const watch = watchBlockers(fake, 1, 3_600_000);
    await new Promise((r) => setTimeout(r, 20));
    const seen = await watch.stop(); // would hang past the test timeout before the fix
    expect(polls).toBe(1);
    expect(seen).toEqual([{ pid: 42, state: 'idle in transaction', query: 'lock table x', xactAgeSeconds: 3 }]);
  });
});
