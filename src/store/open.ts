/**
 * The driver registry: `[store] driver` picks one, everything else is given
 * its interfaces (src/store/driver.ts) and never learns which.
 */
import path from 'node:path';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { StoreDriver } from './driver.js';
import { openSqliteDriver, type SqliteDriver } from './sqlite-driver.js';

export const DATABASE_FILE = 'devicepass.db';
/** How often the SQLite journal is read for other processes' revocations. */
const JOURNAL_POLL_MS = 50;
/** WAL checkpoints run in a worker thread this often, never inside a commit on the event loop. */
const CHECKPOINT_INTERVAL_MS = 1000;

type Opener = (config: Config, log: Logger) => Promise<StoreDriver>;

const DRIVERS: Readonly<Record<Config['store']['driver'], Opener>> = {
  sqlite: async (config, log) => openSqlite(config, log),
  postgres: async (config, log) => {
    // loaded only when chosen: a single-node install never opens a PostgreSQL connection
    const { openClusterDriver } = await import('./postgres/cluster.js');
    return openClusterDriver({
      url: config.store.url, maxEvents: config.auth.event_max_rows, log, poolSize: config.store.pool_size, leaseMs: config.store.lease,
      cacheSize: config.auth.cache_size, ...(config.store.feed_url ? { feedUrl: config.store.feed_url } : {}),
    });
  },
};

export function openStore(config: Config, log: Logger): Promise<StoreDriver> {
  return DRIVERS[config.store.driver](config, log);
}

/** The embedded store under data_dir (or at `file`): what `npm start`, most tests and the benchmarks use. */
export function openSqlite(config: Config, log: Logger, file = path.join(config.data_dir, DATABASE_FILE)): SqliteDriver {
  return openSqliteDriver({
    file,
    maxEvents: config.auth.event_max_rows,
    reserveBytes: config.store.reserve_mib * 1024 * 1024,
    onDiskFull: (outcome) =>
      outcome === 'reserve-released'
        ? log.error({ database: file }, 'disk full: gave back the disk reserve for an administrative write; login records are dropped until there is room again')
        : log.error({ database: file }, 'disk full: an administrative write failed; free disk space'),
    checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    onCheckpointError: (message) => log.error({ database: file, message }, 'WAL checkpoint failed'),
    journalPollMs: JOURNAL_POLL_MS,
    onJournalError: (err) => log.error({ err }, 'could not read the revocation journal'),
  });
}
