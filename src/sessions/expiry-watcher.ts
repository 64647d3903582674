import type { Logger } from '../log/logger.js';
import type { CredentialStore } from '../store/types.js';
import type { SessionRegistry } from './registry.js';

/** setTimeout's longest delay; a later expiry is re-read and rescheduled when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Ends the live sessions of a device at its expiry time, the way revocation
 * does. Expiry is a time written in the device's row, so every process that
 * shares the store schedules it on its own from the rows: one timer per
 * device that holds sessions here. A timer never trusts what it read when it
 * was set: when it fires it re-reads the row, so an expiry moved later (by
 * any process) reschedules instead of cutting; `refresh` re-reads every
 * watched device to pick up an expiry moved earlier. A device whose last
 * session ends (revoked, logged out) drops its timer.
 */
export class ExpiryWatcher {
  readonly #store: Pick<CredentialStore, 'deviceExpiry'>;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #refreshTimer: NodeJS.Timeout | null = null;

  constructor(store: Pick<CredentialStore, 'deviceExpiry'>, registry: SessionRegistry, log: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#registry = registry;
    this.#log = log;
    this.#now = now;
    registry.watchDevices({ active: (id) => this.#schedule(id), idle: (id) => this.#forget(id) });
  }

  /** Re-reads the expiry of every device holding sessions every `intervalMs`. */
  start(intervalMs: number): void {
    this.#refreshTimer = setInterval(() => this.refresh(), intervalMs);
    this.#refreshTimer.unref();
  }

  refresh(): void {
    for (const id of [...this.#timers.keys()]) this.#schedule(id);
  }

  /** Devices with a pending expiry timer (for tests and status). */
  get watching(): number {
    return this.#timers.size;
  }

  stop(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
    for (const id of [...this.#timers.keys()]) this.#forget(id);
  }

  #schedule(deviceId: number): void {
    this.#forget(deviceId);
    let expiresAt: number | null;
    try {
      expiresAt = this.#store.deviceExpiry(deviceId) ?? null;
    } catch (err) {
      // the next refresh tries again; the login path still refuses an expired password on its own
      this.#log.error({ err, deviceId }, 'could not read a device expiry');
      return;
    }
    if (expiresAt === null) return;
    const delay = Math.min(Math.max(0, expiresAt - this.#now()), MAX_TIMER_MS);
    // even an expiry already past waits for a timer: the session that made the device active is still registering
    const timer = setTimeout(() => this.#fire(deviceId), delay);
    timer.unref();
    this.#timers.set(deviceId, timer);
  }

  #fire(deviceId: number): void {
    this.#timers.delete(deviceId);
    let expiresAt: number | null;
    try {
      expiresAt = this.#store.deviceExpiry(deviceId) ?? null;
    } catch (err) {
      this.#log.error({ err, deviceId }, 'could not read a device expiry');
      this.#schedule(deviceId);
      return;
    }
    if (expiresAt !== null && expiresAt <= this.#now()) {
      const closed = this.#registry.closeDevice(deviceId, 'device-expired');
      if (closed > 0) this.#log.info({ deviceId, sessions: closed }, 'device expired: sessions closed');
    } else if (expiresAt !== null) {
      this.#schedule(deviceId);
    }
  }

  #forget(deviceId: number): void {
    const timer = this.#timers.get(deviceId);
    if (timer) clearTimeout(timer);
    this.#timers.delete(deviceId);
  }
}
