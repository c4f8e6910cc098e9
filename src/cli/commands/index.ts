import type { Command } from 'commander';
import { registerDeploy } from './deploy.js';
import { registerMigrate } from './migrate.js';
import { registerRoles } from './roles.js';
import { registerLocal } from './local.js';
import { registerSeed } from './seed.js';
import { registerMetrics } from './metrics.js';

/** Every command module only declares flags here; its body loads lazily on use. */
export function registerCommands(program: Command): void {
  registerDeploy(program);
  registerMigrate(program);
  registerRoles(program);
  registerSeed(program);
  registerLocal(program);
  registerMetrics(program);
}
