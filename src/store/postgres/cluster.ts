/**
 * Several nodes on one PostgreSQL: see docs/cluster.md.
 */
import type { Logger } from '../../log/logger.js';
import type { StoreDriver } from '../driver.js';
import { openPostgresDriver } from './index.js';

export interface ClusterDriverOptions {
  url: string;
  maxEvents: number;
  log: Logger;
  poolSize: number;
  leaseMs: number;
  cacheSize: number;
}

export async function openClusterDriver(options: ClusterDriverOptions): Promise<StoreDriver> {
  return openPostgresDriver({ url: options.url, maxEvents: options.maxEvents, log: options.log, pool: { max: options.poolSize } });
}
