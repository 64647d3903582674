import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Authenticator } from './auth/authenticator.js';
import { HashQueue } from './auth/hash-queue.js';
import { LoginRecorder } from './auth/login-recorder.js';
import { ProofCache } from './auth/proof-cache.js';
import { Throttle } from './auth/throttle.js';
import type { Config } from './config/load.js';
import { parseListen } from './config/schema.js';
import { ControlServer } from './control/server.js';
import { CredentialAdmin } from './credentials/admin.js';
import type { HashParams } from './credentials/digest.js';
import { InvitationService } from './invitations/service.js';
import { createLogger, type Logger } from './log/logger.js';
import { NetworkSet } from './net/networks.js';
import { Notifier } from './notify/notifier.js';
import { loadTlsMaterial } from './net/tls.js';
import { VERSION } from './paths.js';
import { JournalTailer } from './sessions/journal-tailer.js';
import { SessionRegistry } from './sessions/registry.js';
import { backupDatabase } from './store/backup.js';
import { schemaVersion } from './store/database.js';
import { InvitationStore } from './store/invitations.js';
import { SqliteStore } from './store/sqlite-store.js';
import { SURFACES, type Surface } from './surfaces.js';

export const DATABASE_FILE = 'devicepass.db';
const JOURNAL_POLL_MS = 50;
const PURGE_INTERVAL_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 60_000;



/** Everything one running devicepassd holds, wired once; fronts receive the pieces they need. */
export interface Daemon {
  readonly config: Config;
  readonly log: Logger;
  readonly store: SqliteStore;
  readonly authenticator: Authenticator;
  readonly admin: CredentialAdmin;
  readonly invitations: InvitationService;
  readonly registry: SessionRegistry;
  readonly surfaces: readonly Surface[];
  stop(): Promise<void>;
}

/** Every file and socket the daemon uses, logged once at start so an operator sees where things went. */
function daemonPaths(config: Config, tlsSource: string | null): Record<string, unknown> {
  const unix = (list: readonly string[]) => list.filter((entry) => parseListen(entry)?.kind === 'unix');
  return {
    config: config.file,
    data_dir: config.data_dir,
    database: path.join(config.data_dir, DATABASE_FILE),
    control: config.control.socket,
    tls: tlsSource,
    dovecot_auth: unix(config.dovecot_auth.listen),
  };
}

export function hashParams(config: Config): HashParams {
  return { memoryKib: config.hashing.memory_kib, iterations: config.hashing.iterations, parallelism: config.hashing.parallelism };
}

/** Builds the credential core on the configured database: what the daemon, tests and benchmarks share. */
export function createCore(config: Config, log: Logger, databaseFile = path.join(config.data_dir, DATABASE_FILE)) {
  const store = new SqliteStore(databaseFile);
  const registry = new SessionRegistry();
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
  const recorder = new LoginRecorder(store, log, { flushIntervalMs: 1000, maxBuffered: 10_000 });
  const params = hashParams(config);
  const authenticator = new Authenticator({ store, cache, queue, throttle, recorder, params, log });
  const admin = new CredentialAdmin(store, registry, params);
  const invitations = new InvitationService({ store, invitations: new InvitationStore(store.database), admin, publicUrl: config.web.public_url });
  return { store, registry, cache, queue, throttle, recorder, authenticator, admin, invitations };
}

export async function startDaemon(config: Config, log: Logger = createLogger(config.log.level)): Promise<Daemon> {
  const core = createCore(config, log);
  const { store, registry, cache, queue, throttle, recorder } = core;
  const startedAt = Date.now();
  const surfaces: Surface[] = [];
  /** True once every surface listens: what `devicepass status --wait` (the unit's readiness check) waits for. */
  let ready = false;

  const notifier = config.notify.enabled ? new Notifier({
    from: config.notify.from || `devicepass@${new URL(config.web.public_url).hostname}`,
    upstream: config.smtp.upstream, retryDelayMs: config.notify.retry_delay, maxAttempts: config.notify.max_attempts,
    queueMax: config.notify.queue_max, log: log.child({ component: 'notify' }),
  }) : null;
  if (notifier) core.admin.onDeviceChange((change) => notifier.deviceChanged(change));

  const tailer = new JournalTailer(store, registry, log);
  tailer.start(JOURNAL_POLL_MS);

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
    ready,
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
    { admin: core.admin, invitations: core.invitations, authenticator: core.authenticator, isTrustedNetwork: (ip) => throttle.isTrusted(ip), registry, recorder, status, backup: (file) => backupDatabase(store.database, file) },
    { socketPath: config.control.socket, group: config.control.group, maxRequestBytes: config.control.max_request_bytes },
    log,
  );
  let tlsSource: string | null = null;
  try {
    await control.listen();
    if (SURFACES.length > 0) {
      const tls = await loadTlsMaterial(config, log);
      tlsSource = tls.source;
      const storeHealthy = () => {
        try {
          return schemaVersion(store.database) > 0;
        } catch {
          return false;
        }
      };
      const ctx = { config, log, authenticator: core.authenticator, registry, throttle, tls, storeHealthy, invitations: core.invitations };
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
    store.close();
    throw err;
  }
  ready = true;
  log.info({ version: VERSION, pid: process.pid, paths: daemonPaths(config, tlsSource) }, 'devicepassd started');

  let stopping: Promise<void> | null = null;
  return {
    config,
    log,
    store,
    authenticator: core.authenticator,
    admin: core.admin,
    invitations: core.invitations,
    registry,
    surfaces,
    stop: () =>
      (stopping ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        tailer.stop();
        notifier?.stop();
        for (const surface of [...surfaces].reverse()) await surface.stop();
        await control.close();
        recorder.flush();
        store.close();
        log.info('devicepassd stopped');
      })()),
  };
}
