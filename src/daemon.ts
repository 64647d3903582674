import path from 'node:path';
import { Authenticator } from './auth/authenticator.js';
import type { Protocol } from './auth/types.js';
import { HashQueue } from './auth/hash-queue.js';
import { LoginRecorder } from './auth/login-recorder.js';
import { ProofCache } from './auth/proof-cache.js';
import { Throttle } from './auth/throttle.js';
import { hashConcurrency, libuvPoolSize } from './credentials/hash-threads.js';
import type { Config } from './config/load.js';
import { parseListen } from './net/address.js';
import { ControlServer } from './control/server.js';
import { CredentialAdmin } from './credentials/admin.js';
import type { HashParams } from './credentials/digest.js';
import { InvitationService } from './invitations/service.js';
import { createLogger, type Logger } from './log/logger.js';
import { ConnectionGates } from './net/connection-gate.js';
import { NetworkSet } from './net/networks.js';
import { Notifier } from './notify/notifier.js';
import { loadTlsMaterial, TlsCredentials } from './net/tls.js';
import { VERSION } from './paths.js';
import { ExpiryWatcher } from './sessions/expiry-watcher.js';
import { SessionRegistry } from './sessions/registry.js';
import type { StoreDriver } from './store/driver.js';
import { DATABASE_FILE, openSqlite, openStore } from './store/open.js';
import type { SqliteDriver } from './store/sqlite-driver.js';
import type { SqliteStore } from './store/sqlite-store.js';
import { HealthCheck } from './monitoring/health.js';
import { Tally } from './monitoring/tally.js';
import { planReload, type ReloadPlan } from './reload.js';
import type { FrontContext, Surface } from './front-context.js';
import { SURFACES } from './surfaces.js';

export { DATABASE_FILE };
const PURGE_INTERVAL_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 60_000;
/** How often the expiry of devices holding sessions is re-read (an expiry moved earlier by another process). */
const EXPIRY_REFRESH_MS = 60_000;



/** Everything one running devicepassd holds, wired once; fronts receive the pieces they need. */
export interface Daemon {
  readonly config: Config;
  readonly log: Logger;
  readonly driver: StoreDriver;
  /** The SQLite store underneath, for tests and tools that work on the file; null on a shared database. */
  readonly store: SqliteStore | null;
  readonly authenticator: Authenticator;
  readonly admin: CredentialAdmin;
  readonly invitations: InvitationService;
  readonly registry: SessionRegistry;
  readonly expiry: ExpiryWatcher;
  readonly surfaces: readonly Surface[];
  /** The fronts' connection counts and limits met. */
  readonly connections: ConnectionGates;
  /**
   * Takes up a new configuration (SIGHUP): the certificate files are read
   * again, the reloadable keys apply to what starts after the call, the rest
   * is named in the plan and kept. Throws, changing nothing, when the new
   * certificate cannot be used.
   */
  reload(next: Config): Promise<ReloadPlan>;
  /** A reload refused before it reached reload() (the file does not load or check): counted on /metrics. */
  reloadRefused(): void;
  /**
   * Stops: refuse new connections, let logins being decided and SMTP messages
   * in flight finish for up to `graceMs`, then end every session (IMAP BYE,
   * SMTP 421), write what is pending and close the store.
   */
  stop(graceMs?: number): Promise<void>;
}

const DRAIN_POLL_MS = 25;

/** Every file and socket the daemon uses, logged once at start so an operator sees where things went. */
function daemonPaths(config: Config, tlsSource: string | null, storeLocation: string): Record<string, unknown> {
  const unix = (list: readonly string[]) => list.filter((entry) => parseListen(entry)?.kind === 'unix');
  return {
    config: config.file,
    data_dir: config.data_dir,
    store: { driver: config.store.driver, location: storeLocation },
    control: config.control.socket,
    tls: tlsSource,
    dovecot_auth: unix(config.dovecot_auth.listen),
  };
}

/** The throttle's numbers from [auth]: at start, and again on reload. */
export function throttleOptions(config: Config) {
  return {
    failureDelayMs: config.auth.failure_delay,
    failureDelayMaxMs: config.auth.failure_delay_max,
    lockoutFailures: config.auth.lockout_failures,
    lockoutWindowMs: config.auth.lockout_window,
    ipv4Prefix: config.auth.ipv4_prefix,
    ipv6Prefix: config.auth.ipv6_prefix,
    hashRate: config.auth.network_hash_rate,
    hashBurst: config.auth.network_hash_burst,
    maxNetworks: config.auth.throttle_max_networks,
    maxAddresses: config.auth.throttle_max_addresses,
    maxNetworksPerAddress: 64,
  };
}

export function hashParams(config: Config): HashParams {
  return { memoryKib: config.hashing.memory_kib, iterations: config.hashing.iterations, parallelism: config.hashing.parallelism };
}

/** Builds the credential core on SQLite, synchronously: what tests and benchmarks that work on the file use. */
export function createCore(config: Config, log: Logger, databaseFile = path.join(config.data_dir, DATABASE_FILE)) {
  const driver = openSqlite(config, log, databaseFile);
  return { ...createCoreOn(driver, config, log), store: driver.store };
}

/** Builds the credential core on a store driver: what the daemon, tests and benchmarks share. */
export function createCoreOn(driver: StoreDriver, config: Config, log: Logger) {
  const registry = new SessionRegistry();
  const expiry = new ExpiryWatcher(driver.admin, registry, log);
  const cache = new ProofCache({ size: config.auth.cache_size, ttlMs: config.auth.cache_ttl });
  const queue = new HashQueue({
    concurrency: hashConcurrency(config.hashing.concurrency),
    maxQueued: config.hashing.queue_max,
    maxQueuedPerClient: config.hashing.queue_max_per_client,
  });
  // who is trusted is decided by each front from its transport (LoginAttempt.trusted); the throttle
  // itself exempts no address, or a client-supplied one (a SASL peer's rip=) could claim the exemption
  const trustedNetworks = new NetworkSet(config.auth.trusted_networks);
  const throttle = new Throttle({ trusted: new NetworkSet([]), ...throttleOptions(config) });
  const recorder = new LoginRecorder(driver.audit, log, { flushIntervalMs: 1000, maxBuffered: 10_000, failureWindowMs: config.auth.audit_window });
  // login records are what a short disk gives up first
  recorder.shedWhen(() => driver.audit.shedding());
  const params = hashParams(config);
  // read at each login through the holder, so a reload reaches it
  const generic = { protocols: config.auth.generic_protocols as readonly Protocol[] };
  const authenticator = new Authenticator({ reads: driver.reads, cache, queue, throttle, recorder, params, log, genericProtocols: () => generic.protocols });
  const admin = new CredentialAdmin(driver.admin, registry, params);
  const invitations = new InvitationService({ store: driver.admin, invitations: driver.invitations, admin, publicUrl: config.web.public_url });
  // changes made elsewhere (another process, another node) cut the sessions held here
  driver.feed.onEntry((entry) => {
    if (!entry.cuts) return;
    if (entry.deviceId === null) registry.closeAddress(entry.address, entry.reason);
    else registry.closeDevice(entry.deviceId, entry.reason);
  });
  // changes were purged before this node read them: any session here may be one of a revoked device
  driver.feed.onGap?.(() => {
    const closed = registry.closeAll('journal-gap');
    log.error({ closed }, 'journal entries were purged before this node read them: every session held here was closed, the clients log in again');
  });
  return { driver, registry, expiry, cache, queue, throttle, recorder, authenticator, admin, trustedNetworks, invitations, generic };
}

export async function startDaemon(config: Config, log: Logger = createLogger(config.log.level)): Promise<Daemon> {
  const driver = await openStore(config, log);
  const core = createCoreOn(driver, config, log);
  const { registry, cache, queue, throttle, recorder, trustedNetworks } = core;
  const startedAt = Date.now();
  if (config.hashing.concurrency > queue.concurrency) {
    log.warn({ configured: config.hashing.concurrency, used: queue.concurrency, threads: libuvPoolSize() },
      'hashing.concurrency is more than libuv\'s thread pool has for hashes; launch with a larger UV_THREADPOOL_SIZE');
  }
  const surfaces: Surface[] = [];
  /** True once every surface listens: what `devicepass status --wait` (the unit's readiness check) waits for. */
  let ready = false;
  const connections = new ConnectionGates(log);

  const notifier = config.notify.enabled ? new Notifier({
    from: config.notify.from || `devicepass@${new URL(config.web.public_url).hostname}`,
    upstream: config.smtp.upstream, retryDelayMs: config.notify.retry_delay, maxAttempts: config.notify.max_attempts,
    queueMax: config.notify.queue_max, log: log.child({ component: 'notify' }),
  }) : null;
  if (notifier) core.admin.onDeviceChange((change) => notifier.deviceChanged(change));

  try {
    await driver.feed.start();
  } catch (err) {
    await driver.close();
    throw err;
  }
  core.expiry.start(EXPIRY_REFRESH_MS);

  const purge = async () => {
    try {
      const purged = await driver.admin.purge(Date.now(), config.auth.tombstone_retention, config.auth.event_retention);
      if (purged.tombstones + purged.events > 0) log.info(purged, 'purged expired tombstones and events');
    } catch (err) {
      log.error({ err }, 'purge failed');
    }
  };
  await purge();
  const timers = [setInterval(() => void purge(), PURGE_INTERVAL_MS), setInterval(() => throttle.sweep(), SWEEP_INTERVAL_MS)];
  for (const timer of timers) timer.unref();

  const status = async () => ({
    version: VERSION,
    pid: process.pid,
    ready,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    config: config.file,
    database: driver.location,
    store: { driver: driver.name, location: driver.location, health: driver.health(), ...driver.stats() },
    schemaVersion: await driver.schemaVersion(),
    addresses: (await driver.admin.listAddresses()).length,
    sessions: registry.size,
    proofCache: cache.stats(),
    hashQueue: queue.stats(),
    throttle: throttle.stats(),
    surfaces: Object.fromEntries([['control', [config.control.socket]], ...surfaces.map((s) => [s.name, s.addresses()])]),
  });

  const control = new ControlServer(
    {
      admin: core.admin, invitations: core.invitations, authenticator: core.authenticator, isTrustedNetwork: (ip) => trustedNetworks.has(ip), registry, recorder, status,
      backup: (file) => driver.backup(file),
    },
    { socketPath: config.control.socket, group: config.control.group, maxRequestBytes: config.control.max_request_bytes },
    log,
  );
  let current = config;
  let tls: TlsCredentials | null = null;
  const tallies = { upstreamErrors: new Tally(), reloads: new Tally() };
  try {
    await control.listen();
    if (SURFACES.length > 0) {
      tls = new TlsCredentials(await loadTlsMaterial(config, log));
      const check = new HealthCheck({
        storeWritable: () => driver.health().ok,
        surfaces: () => surfaces,
        config: () => current,
      });
      const storeStats = () => ({ loginRecordsDropped: recorder.stats().dropped, diskReserveHeld: (driver.stats().diskReserveHeld as boolean | null | undefined) ?? null });
      const ctx: FrontContext = {
        // fronts read the configuration when a connection or login starts, so a reload reaches what starts after it
        get config() {
          return current;
        },
        log, authenticator: core.authenticator, registry, trustedNetworks, tls, storeStats, connections, tallies,
        health: () => check.report(),
        invitations: core.invitations,
        linkGuessed: (ip) => {
          // every guessed link counts against one key no address can spell
          throttle.freshFailure(ip, '\0invitation-link');
          return throttle.delayFor(ip, null);
        },
      };
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
    core.expiry.stop();
    await driver.close();
    throw err;
  }
  ready = true;
  log.info({ version: VERSION, pid: process.pid, paths: daemonPaths(config, tls?.material.source ?? null, driver.location) }, 'devicepassd started');

  let stopping: Promise<void> | null = null;
  const drain = async (graceMs: number) => {
    for (const surface of surfaces) surface.stopAccepting?.();
    const deadline = Date.now() + graceMs;
    const busy = () => core.authenticator.deciding + surfaces.reduce((n, s) => n + (s.busy?.() ?? 0), 0);
    if (busy() > 0) log.info({ logins: core.authenticator.deciding, graceMs }, 'letting logins and messages in flight finish');
    while (busy() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    if (busy() > 0) log.warn({ busy: busy() }, 'shutdown grace over: ending what is still in flight');
  };
  return {
    get config() {
      return current;
    },
    log,
    driver,
    store: driver.name === 'sqlite' ? (driver as SqliteDriver).store : null,
    authenticator: core.authenticator,
    admin: core.admin,
    invitations: core.invitations,
    registry,
    expiry: core.expiry,
    surfaces,
    connections,
    reloadRefused: () => tallies.reloads.add('refused'),
    reload: async (next) => {
      const plan = planReload(current, next);
      // the files are read again even when their paths did not change: renewal replaces them in place
      try {
        if (tls) tls.replace(await loadTlsMaterial(plan.effective, log));
      } catch (err) {
        tallies.reloads.add('refused');
        throw err;
      }
      tallies.reloads.add('applied');
      current = plan.effective;
      log.level = current.log.level;
      trustedNetworks.replace(current.auth.trusted_networks);
      core.generic.protocols = current.auth.generic_protocols;
      throttle.reconfigure(throttleOptions(current));
      for (const surface of surfaces) surface.reload?.();
      if (plan.needRestart.length > 0) log.warn({ keys: plan.needRestart }, 'configuration reloaded; these changes need a restart and were not applied');
      log.info({ changed: plan.applied, tls: tls?.material.source ?? null }, 'configuration reloaded');
      return plan;
    },
    stop: (graceMs = 0) =>
      (stopping ??= (async () => {
        await drain(graceMs);
        for (const timer of timers) clearInterval(timer);
        core.expiry.stop();
        notifier?.stop();
        for (const surface of [...surfaces].reverse()) await surface.stop();
        await control.close();
        await recorder.flush();
        await driver.close();
        log.info('devicepassd stopped');
      })()),
  };
}
