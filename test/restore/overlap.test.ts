import { describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { RestoreOverlap } from '../../src/restore/overlap.js';
import { runAmcheck } from '../../src/restore/checks.js';
import { createTestDatabase } from '../helpers/database.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// What restore-verify does while pg_restore runs (RestoreOverlap), played against a real
// server by hand: tables appear, get their data, then their indexes, as pg_restore does.
describe('restore-verify: checks during the restore', async () => {
  const db = await createTestDatabase();
  await db.sql.unsafe(`
    create schema rv;
    create table rv.loaded as select g as id, md5(g::text) as v from generate_series(1, 5000) g;
    create index loaded_v_idx on rv.loaded (v);
    create table rv.pending as select g as id from generate_series(1, 700) g;
    create table rv.slow as select g as id from generate_series(1, 40) g;
    -- each index entry costs 50 ms to compute, so bt_index_check(heapallindexed) of it takes 2 s
    create function rv.slow_key(i int) returns int language plpgsql immutable as $$ begin perform pg_sleep(0.05); return i; end $$`);

  it('counts a table and checks its btree index once the index is committed, not before; an uncommitted index is not seen', async () => {
    const sql = await connect(db.url, { max: 2 });
    const overlap = new RestoreOverlap(sql, new Set(['rv.loaded', 'rv.pending', 'rv.missing']), 2);
    overlap.start();
    try {
      await until('rv.loaded counted and checked', () => overlap.progress.counts.has('rv.loaded') && overlap.progress.checked.has('rv.loaded_v_idx'));
      expect(overlap.progress.counts.get('rv.loaded')).toBe(5000);
      // rv.pending has no index: its data may still be loading, so it is not counted
      const tx = await db.sql.reserve();
      await tx.unsafe('begin; create index pending_id_idx on rv.pending (id)');
      await sleep(800);
      expect(overlap.progress.counts.has('rv.pending')).toBe(false);
      await tx.unsafe('commit');
      tx.release();
      await until('rv.pending counted', () => overlap.progress.counts.has('rv.pending'));
      expect(overlap.progress.counts.get('rv.pending')).toBe(700);
    } finally {
      const r = await overlap.stop();
      expect([...r.counts.keys()].sort()).toEqual(['rv.loaded', 'rv.pending']);
      await sql.end();
    }
  });

  it('starts no check while the restore keeps its --jobs sessions busy', async () => {
    await db.sql.unsafe('create table rv.gated as select g as id from generate_series(1, 300) g; create index gated_id_idx on rv.gated (id)');
    const sql = await connect(db.url, { max: 2 });
    const busy = db.sql.unsafe('select pg_sleep(3)').then(() => undefined); // one pg_restore worker, busy
    await until('the busy session', async () => (await db.sql`select 1 from pg_stat_activity where query = 'select pg_sleep(3)' and state = 'active'`).length > 0);
    const overlap = new RestoreOverlap(sql, new Set(['rv.gated']), 1);
    overlap.start();
    try {
      await sleep(1000);
      expect(overlap.progress.counts.size + overlap.progress.checked.size).toBe(0);
      await busy;
      await until('rv.gated counted once the session is done', () => overlap.progress.counts.get('rv.gated') === 300);
    } finally {
      await overlap.stop();
      await sql.end();
    }
  });

  it('gives way to an ALTER TABLE that waits for its lock (cancels its check, retries it later) and never queues behind one', async () => {
    const sql = await connect(db.url, { max: 2 });
    await db.sql.unsafe('create index slow_key_idx on rv.slow (rv.slow_key(id))');
    const overlap = new RestoreOverlap(sql, new Set(['rv.slow']), 2);
    overlap.start();
    try {
      await until('the 2 s check of rv.slow_key_idx running', async () => (await db.sql`
        select 1 from pg_stat_activity where state = 'active' and query like '%bt_index_check(''rv.slow_key_idx''%'`).length > 0);
      // what pg_restore does next on the table: ADD CONSTRAINT, which needs ACCESS EXCLUSIVE
      await db.sql.unsafe("set lock_timeout = '10s'; alter table rv.slow add constraint slow_pkey primary key (id)");
      // the ALTER got its lock before the 2 s check could finish: the check was cancelled
      expect(overlap.progress.yielded).toBeGreaterThanOrEqual(1);
      expect(overlap.progress.checked.has('rv.slow_key_idx')).toBe(false);
      // the ALTER holds the table in a transaction: the overlap does not queue behind it
      const tx = await db.sql.reserve();
      await tx.unsafe('begin; lock table rv.slow in access exclusive mode');
      const yieldedBefore = overlap.progress.yielded;
      await until('a lock timeout while the table is held', () => overlap.progress.yielded > yieldedBefore);
      await tx.unsafe('commit');
      tx.release();
      await until('rv.slow_key_idx checked on a retry', () => overlap.progress.checked.has('rv.slow_key_idx'), 20_000);
      await until('the new primary key checked too', () => overlap.progress.checked.has('rv.slow_pkey'));
    } finally {
      await overlap.stop();
      await sql.end();
    }
  }, 40_000);

  it('the amcheck step checks only what the overlap did not, and names a failing index', async () => {
    const sql = await connect(db.url, { max: 2 });
    try {
      const all = await runAmcheck(sql, 2);
      expect(all.problem).toBeUndefined();
      const n = Number(all.detail.indexes);
      expect(n).toBeGreaterThan(5);
      const some = await runAmcheck(sql, 2, new Set(['rv.loaded_v_idx', 'rv.slow_key_idx']));
      expect(some.detail).toMatchObject({ tool: 'bt_index_check', heapallindexed: true, indexes: n, duringRestore: 2 });
      // an index whose expression now disagrees with what was indexed: heapallindexed finds the missing tuple
      await db.sql.unsafe(`
        create table rv.drift as select g as id from generate_series(1, 200) g;
        create function rv.drift_key(i int) returns int language sql immutable as 'select i';
        create index drift_idx on rv.drift (rv.drift_key(id));
        create or replace function rv.drift_key(i int) returns int language sql immutable as 'select i + 1'`);
      const bad = await runAmcheck(sql, 2);
      expect(bad.problem).toMatch(/^index rv\.drift_idx: /);
      await db.sql.unsafe('drop table rv.drift');
    } finally {
      await sql.end();
    }
  });
});
