import { cpus, totalmem } from 'node:os';
import { usageError } from '../errors.js';
import { parseInteger } from '../validate.js';
import { parseMemory } from './units.js';

/**
 * The machine doctor sizes postgresql.conf for: this host (os.totalmem, os.cpus) unless
 * --memory/--cpus say otherwise, storage `ssd` unless --storage says `hdd`, and the
 * number of client connections the application opens (--connections; unknown when not
 * given, and then max_connections is left as it is).
 */
export type Storage = 'ssd' | 'hdd';

export interface Machine {
  memoryBytes: number;
  cpus: number;
  storage: Storage;
  connections: number | null;
  /** Which values were taken from this host or assumed, rather than given. */
  assumed: Array<'memory' | 'cpus' | 'storage'>;
}

export interface MachineFlags {
  memory?: string;
  cpus?: string;
  storage?: string;
  connections?: string;
}

/** Builds the Machine from flags (exit 2 on a bad one), filling the rest from this host. */
export function machineFromFlags(flags: MachineFlags, host = { memoryBytes: totalmem(), cpus: cpus().length }): Machine {
  const assumed: Machine['assumed'] = [];
  const memoryBytes = flags.memory !== undefined ? parseMemory(flags.memory) : (assumed.push('memory'), host.memoryBytes);
  const cpuCount = flags.cpus !== undefined ? parseInteger('--cpus', flags.cpus, { min: 1, max: 1024 }) : (assumed.push('cpus'), Math.max(1, host.cpus));
  if (flags.storage !== undefined && flags.storage !== 'ssd' && flags.storage !== 'hdd') {
    throw usageError(`--storage must be ssd or hdd, got "${flags.storage}"`);
  }
  const storage: Storage = (flags.storage as Storage | undefined) ?? (assumed.push('storage'), 'ssd');
  const connections = flags.connections !== undefined ? parseInteger('--connections', flags.connections, { min: 1, max: 100_000 }) : null;
  return { memoryBytes, cpus: cpuCount, storage, connections, assumed };
}
