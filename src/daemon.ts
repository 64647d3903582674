import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Authenticator } from './auth/authenticator.js';
import { HashQueue } from './auth/hash-queue.js';
import { LoginRecorder } from './auth/login-recorder.js';
import { ProofCache } from './auth/proof-cache.js';
import { Throttle } from './auth/throttle.js';
import type { Config } from './config/load.js';
import { ControlServer } from './control/server.js';
import { CredentialAdmin } from './credentials/admin.js';
import type { HashParams } from './credentials/digest.js';
import { createLogger, type Logger } from './log/logger.js';
import { NetworkSet } from './net/networks.js';
import { loadTlsMaterial } from './net/tls.js';
import { VERSION } from './paths.js';
import { ExpiryWatcher } from './sessions/expiry-watcher.js';
import { JournalTailer } from './sessions/journal-tailer.js';
import { SessionRegistry } from './sessions/registry.js';
import { schemaVersion } from './store/database.js';
import { SqliteStore } from './store/sqlite-store.js';
import { SURFACES, type Surface } from './surfaces.js';

export const DATABASE_FILE = 'devicepass.db';
const JOURNAL_POLL_MS = 50;
const PURGE_INTERVAL_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 60_000;
/** How often the expiry of devices holding sessions is re-read (an expiry moved earlier by another process). */
const EXPIRY_REFRESH_MS = 60_000;
/** WAL checkpoints run in a worker thread this often, never inside a commit on the event loop. */
const CHECKPOINT_INTERVAL_MS = 1000;



/** Everything one running devicepassd holds, wired once; fronts receive the pieces they need. */
export interface Daemon {
  readonly config: Config;
  readonly log: Logger;
  readonly store: SqliteStore;
  readonly authenticator: Authenticator;
  readonly admin: CredentialAdmin;
  readonly registry: SessionRegistry;
  readonly expiry: ExpiryWatcher;
  readonly surfaces: readonly Surface[];
  stop(): Promise<void>;
}

export function hashParams(config: Config): HashParams {
  return { memoryKib: config.hashing.memory_kib, iterations: config.hashing.iterations, parallelism: config.hashing.parallelism };
}

/** Builds the credential core on the configured database: what the daemon, tests and benchmarks share. */
export function createCore(config: Config, log: Logger, databaseFile = path.join(config.data_dir, DATABASE_FILE)) {
  const store = new SqliteStore(databaseFile, {
    maxEvents: config.auth.event_max_rows,
    reserveBytes: config.store.reserve_mib * 1024 * 1024,
    onDiskFull: (outcome) =>
      outcome === 'reserve-released'
        ? log.error({ database: databaseFile }, 'disk full: gave back the disk reserve for an administrative write; login records are dropped until there is room again')
        : log.error({ database: databaseFile }, 'disk full: an administrative write failed; free disk space'),
    checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    onCheckpointError: (message) => log.error({ database: databaseFile, message }, 'WAL checkpoint failed'),
  });
  const registry = new SessionRegistry();
  const expiry = new ExpiryWatcher(store, registry, log);
  const cache = new ProofCache({ size: config.auth.cache_size, ttlMs: config.auth.cache_ttl });
  const queue = new HashQueue({
    concurrency: config.hashing.concurrency || availableParallelism(),
    maxQueued: config.hashing.queue_max,
    maxQueuedPerClient: config.hashing.queue_max_per_client,
  });
  const throttle = new Throttle({
    trusted: new NetworkSet(config.auth.trusted_networks),
    failureDelayMs: config.auth.failure_delay,
    failureDelayMaxMs: config.auth.failure_delay_max,
    lockoutFailures: config.auth.lockout_failures,
    lockoutWindowMs: config.auth.lockout_window,
  });
  const recorder = new LoginRecorder(store, log, { flushIntervalMs: 1000, maxBuffered: 10_000, failureWindowMs: config.auth.audit_window });
  // login records are what a short disk gives up first
  recorder.shedWhen(() => store.diskShort());
  const params = hashParams(config);
  const authenticator = new Authenticator({ store, cache, queue, throttle, recorder, params, log });
  const admin = new CredentialAdmin(store, registry, params);
  return { store, registry, expiry, cache, queue, throttle, recorder, authenticator, admin };
}

export async function startDaemon(config: Config, log: Logger = createLogger(config.log.level)): Promise<Daemon> {
  const core = createCore(config, log);
  const { store, registry, cache, queue, throttle, recorder } = core;
  const startedAt = Date.now();
  const surfaces: Surface[] = [];

  const tailer = new JournalTailer(store, registry, log);
  tailer.start(JOURNAL_POLL_MS);
  core.expiry.start(EXPIRY_REFRESH_MS);

  const purge = () => {
    try {
      const purged = store.purge(Date.now(), config.auth.tombstone_retention, config.auth.event_retention);
      if (purged.tombstones + purged.events > 0) log.info(purged, 'purged expired tombstones and events');
    } catch (err) {
      log.error({ err }, 'purge failed');
    }
  };
  purge();
  const timers = [setInterval(purge, PURGE_INTERVAL_MS), setInterval(() => throttle.sweep(), SWEEP_INTERVAL_MS)];
  for (const timer of timers) timer.unref();

  const status = () => ({
    version: VERSION,
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    config: config.file,
    database: path.join(config.data_dir, DATABASE_FILE),
    schemaVersion: schemaVersion(store.database),
    addresses: store.listAddresses().length,
    sessions: registry.size,
    proofCache: cache.stats(),
    hashQueue: queue.stats(),
    throttle: throttle.stats(),
    surfaces: Object.fromEntries([['control', [config.control.socket]], ...surfaces.map((s) => [s.name, s.addresses()])]),
  });

  const control = new ControlServer(
    { admin: core.admin, authenticator: core.authenticator, isTrustedNetwork: (ip) => throttle.isTrusted(ip), registry, recorder, status },
    { socketPath: config.control.socket, group: config.control.group, maxRequestBytes: config.control.max_request_bytes },
    log,
  );
  try {
    await control.listen();
    if (SURFACES.length > 0) {
      const tls = await loadTlsMaterial(config, log);
      const storeHealthy = () => {
        try {
          return schemaVersion(store.database) > 0;
        } catch {
          return false;
        }
      };
      const storeStats = () => ({ loginRecordsDropped: recorder.stats().dropped, diskReserveHeld: store.reserveHeld });
      const ctx = { config, log, authenticator: core.authenticator, registry, throttle, tls, storeHealthy, storeStats };
      for (const factory of SURFACES) {
        const surface = factory(ctx);
        if (!surface) continue;
        await surface.start();
        surfaces.push(surface);
      }
    }
  } catch (err) {
    for (const surface of surfaces.reverse()) await surface.stop();
    await control.close();
    tailer.stop();
    core.expiry.stop();
    store.close();
    throw err;
  }
  log.info({ version: VERSION, database: status().database, pid: process.pid }, 'devicepassd started');

  let stopping: Promise<void> | null = null;
  return {
    config,
    log,
    store,
    authenticator: core.authenticator,
    admin: core.admin,
    registry,
    expiry: core.expiry,
    surfaces,
    stop: () =>
      (stopping ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        tailer.stop();
        core.expiry.stop();
        for (const surface of [...surfaces].reverse()) await surface.stop();
        await control.close();
        recorder.flush();
        store.close();
        log.info('devicepassd stopped');
      })()),
  };
}
