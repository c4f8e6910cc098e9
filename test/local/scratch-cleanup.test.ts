import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localCluster, startLocal } from '../../src/local/cluster.js';
import { isLivePostmaster, readPidFile } from '../../src/local/postmaster.js';
import { serverUser } from '../../src/local/os-user.js';
import { claimScratchRoot, removeScratchRoot } from '../helpers/scratch.js';
import { freePort } from '../helpers/server.js';

describe('test debris: the global teardown', () => {
  it('stops a cluster left running in the run directory and removes the directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bookingdb-test-'));
    chmodSync(root, 0o711);
    const cluster = localCluster(root, 'project/.bookingdb/local', await freePort(), () => undefined);
    const s = await startLocal(cluster);
    expect(s.running).toBe(true);
    const pid = readPidFile(s.dataDir)!.pid;
    expect(readFileSync(join(s.dataDir, 'PG_VERSION'), 'utf8').trim()).toBe('15');

    await removeScratchRoot(root);
    expect(isLivePostmaster(pid, await serverUser())).toBe(false);
    expect(existsSync(root)).toBe(false);
  });

  it('a run directory whose owner died (an interrupted run) is removed by the next run; a live one is kept', async () => {
    const dead = mkdtempSync(join(tmpdir(), 'bookingdb-test-'));
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid; // has exited
    writeFileSync(join(dead, '.owner-pid'), `${deadPid}\n`);
    const live = mkdtempSync(join(tmpdir(), 'bookingdb-test-'));
    writeFileSync(join(live, '.owner-pid'), `${process.pid}\n`);
    const mine = mkdtempSync(join(tmpdir(), 'bookingdb-test-'));
    try {
      await claimScratchRoot(mine);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      await removeScratchRoot(dead);
      await removeScratchRoot(live);
      await removeScratchRoot(mine);
    }
  });
});
