import type { Logger } from '../log/logger.js';
import type { AuditEvent, CredentialStore, LastUse } from '../store/types.js';

export interface LoginRecorderOptions {
  flushIntervalMs: number;
  /** Flush at once when this many distinct entries are waiting. */
  maxBuffered: number;
}

/**
 * Keeps disk writes off the login path: login events and last-use updates
 * wait in memory and are written in one transaction per interval. Identical
 * results (same device, reason, protocol, IP, client) inside one interval
 * become one event with a count, so a client reconnecting in a loop costs a
 * row per second, not a row per login.
 */
export class LoginRecorder {
  readonly #store: CredentialStore;
  readonly #log: Logger;
  readonly #options: LoginRecorderOptions;
  readonly #events = new Map<string, AuditEvent & { count: number; lastAt: number }>();
  readonly #usage = new Map<number, LastUse>();
  #timer: NodeJS.Timeout | null = null;

  constructor(store: CredentialStore, log: Logger, options: LoginRecorderOptions) {
    this.#store = store;
    this.#log = log;
    this.#options = options;
  }

  /**
   * Records one login result. `key` identifies what makes two results the
   * same (device or reason, protocol, IP, client); `build` makes the event
   * only the first time a key is seen in the interval, so a repeat costs a
   * counter increment and no allocation.
   */
  record(key: string, at: number, build: () => AuditEvent, usage?: { deviceId: number; use: LastUse }): void {
    const pending = this.#events.get(key);
    if (pending) {
      pending.count++;
      pending.lastAt = at;
    } else {
      this.#events.set(key, { ...build(), count: 1, lastAt: at });
    }
    if (usage) this.#usage.set(usage.deviceId, usage.use);
    if (this.#events.size + this.#usage.size >= this.#options.maxBuffered) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#options.flushIntervalMs).unref();
  }

  /** Writes what is waiting; administrative reads call this first so they see every login. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#events.size === 0 && this.#usage.size === 0) return;
    const events = [...this.#events.values()];
    const usage = [...this.#usage].map(([deviceId, use]) => ({ deviceId, use }));
    this.#events.clear();
    this.#usage.clear();
    try {
      this.#store.appendEvents(events);
      this.#store.recordUsage(usage);
    } catch (err) {
      // losing a batch of audit rows is bad; taking logins down with it would be worse
      this.#log.error({ err, events: events.length }, 'could not write login events');
    }
  }
}
