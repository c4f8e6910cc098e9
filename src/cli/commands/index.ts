import type { Command } from 'commander';
import { registerDeploy } from './deploy.js';
import { registerMigrate } from './migrate.js';
import { registerRoles } from './roles.js';
import { registerLocal } from './local.js';
import { registerSeed } from './seed.js';
import { registerHealthCheck } from './health-check.js';
import { registerMetrics } from './metrics.js';
import { registerSlowQueries } from './slow-queries.js';
import { registerDoctor } from './doctor.js';
import { registerConfig } from './config.js';
import { registerMaintain } from './maintain.js';
import { registerSchedule } from './schedule.js';
import { registerInit } from './init.js';
import { registerBench } from './bench.js';
import { registerRestoreVerify } from './restore-verify.js';
import { registerRestore } from './restore.js';
import { registerBackup } from './backup.js';

/** Every command module only declares flags here; its body loads lazily on use. */
export function registerCommands(program: Command): void {
  registerDeploy(program);
  registerMigrate(program);
  registerRoles(program);
  registerSeed(program);
  registerLocal(program);
  registerHealthCheck(program);
  registerMetrics(program);
  registerSlowQueries(program);
  registerDoctor(program);
  registerConfig(program);
  registerMaintain(program);
  registerSchedule(program);
  registerInit(program);
  registerBench(program);
  registerRestoreVerify(program);
  registerRestore(program);
  registerBackup(program);
}
