import { z } from 'zod';

/**
 * The `doctor` section of the config file (merged into the one schema later). The
 * machine flags (--memory, --cpus, --storage, --connections) override it.
 */
export const doctorConfigSchema = z
  .object({
    memory: z.string().regex(/^\d+(\.\d+)?\s*(k|m|g|t)(i?b)?$/i).optional().describe("the database server's RAM, e.g. 16GB (default: this machine's)"),
    cpus: z.number().int().min(1).max(1024).optional().describe("the database server's CPU cores (default: this machine's)"),
    storage: z.enum(['ssd', 'hdd']).optional().describe('storage of the data directory (default ssd)'),
    connections: z.number().int().min(1).max(100_000).optional().describe('client connections the application opens at peak'),
    statementTimeoutMs: z.number().int().min(100).max(60_000).default(3000).describe('statement_timeout of every doctor query'),
  })
  .strict();

export type DoctorConfig = z.infer<typeof doctorConfigSchema>;
