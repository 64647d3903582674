import type { Logger } from '../log/logger.js';

import type { SessionRegistry } from './registry.js';

/** setTimeout's longest delay; a later expiry is re-read and rescheduled when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where expiries are read: the store (asynchronous on a shared database) or anything answering the same. */
export interface ExpirySource {
  deviceExpiry(deviceId: number): Promise<number | null | undefined> | number | null | undefined;
}

/** Goes on with a value at once when it is there, after it arrives when it is a promise. */
function whenRead<T>(value: T | Promise<T>, next: (value: T) => void, failed: (err: unknown) => void): void {
  if (value instanceof Promise) value.then(next, failed);
  else next(value);
}

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
  readonly #store: ExpirySource;
  /** Bumped whenever a device's timer is set or dropped: a read that comes back after that is stale. */
  readonly #turns = new Map<number, number>();
  #turn = 0;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #refreshTimer: NodeJS.Timeout | null = null;

  constructor(store: ExpirySource, registry: SessionRegistry, log: Logger, now: () => number = Date.now) {
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
    const turn = this.#claim(deviceId);
    const read = (): number | null | undefined | Promise<number | null | undefined> => this.#store.deviceExpiry(deviceId);
    let value: ReturnType<typeof read>;
    try {
      value = read();
    } catch (err) {
      return this.#readFailed(deviceId, err);
    }
    whenRead(value, (expiresAt) => {
      if (this.#turns.get(deviceId) !== turn || expiresAt === null || expiresAt === undefined) return;
      const delay = Math.min(Math.max(0, expiresAt - this.#now()), MAX_TIMER_MS);
      // even an expiry already past waits for a timer: the session that made the device active is still registering
      const timer = setTimeout(() => this.#fire(deviceId), delay);
      timer.unref();
      this.#timers.set(deviceId, timer);
    }, (err) => this.#turns.get(deviceId) === turn && this.#readFailed(deviceId, err));
  }

  /** The next refresh tries again; the login path still refuses an expired password on its own. */
  #readFailed(deviceId: number, err: unknown): void {
    this.#log.error({ err, deviceId }, 'could not read a device expiry');
  }

  #fire(deviceId: number): void {
    this.#timers.delete(deviceId);
    const turn = this.#claim(deviceId);
    let value: ReturnType<ExpirySource['deviceExpiry']>;
    try {
      value = this.#store.deviceExpiry(deviceId);
    } catch (err) {
      this.#readFailed(deviceId, err);
      return this.#schedule(deviceId);
    }
    whenRead(value, (read) => {
      if (this.#turns.get(deviceId) !== turn) return;
      const expiresAt = read ?? null;
      if (expiresAt !== null && expiresAt <= this.#now()) {
        const closed = this.#registry.closeDevice(deviceId, 'device-expired');
        if (closed > 0) this.#log.info({ deviceId, sessions: closed }, 'device expired: sessions closed');
      } else if (expiresAt !== null) {
        this.#schedule(deviceId);
      }
    }, (err) => {
      if (this.#turns.get(deviceId) !== turn) return;
      this.#readFailed(deviceId, err);
      this.#schedule(deviceId);
    });
  }

  #claim(deviceId: number): number {
    const turn = ++this.#turn;
    this.#turns.set(deviceId, turn);
    return turn;
  }

  #forget(deviceId: number): void {
    const timer = this.#timers.get(deviceId);
    if (timer) clearTimeout(timer);
    this.#timers.delete(deviceId);
    this.#turns.delete(deviceId);
  }
}
