import type { Logger } from '../log/logger.js';
import type { CredentialStore } from '../store/types.js';
import type { SessionRegistry } from './registry.js';

/**
 * Follows the store's revocation journal so that a revoke written by another
 * process (a second daemon on the same database, a maintenance script) cuts
 * the sessions this process holds. Revocations made through this process's
 * own control socket close sessions at once and are seen here again
 * harmlessly (closing is idempotent).
 */
export class JournalTailer {
  readonly #store: CredentialStore;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  #seq: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(store: CredentialStore, registry: SessionRegistry, log: Logger) {
    this.#store = store;
    this.#registry = registry;
    this.#log = log;
    this.#seq = store.lastRevocationSeq();
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.poll(), intervalMs);
    this.#timer.unref();
  }

  poll(): void {
    if (this.#registry.size === 0) {
      this.#seq = Math.max(this.#seq, this.#store.lastRevocationSeq());
      return;
    }
    try {
      for (const entry of this.#store.revocationsSince(this.#seq)) {
        this.#seq = entry.seq;
        if (entry.deviceId === null) this.#registry.closeAddress(entry.address, entry.reason);
        else this.#registry.closeDevice(entry.deviceId, entry.reason);
      }
    } catch (err) {
      this.#log.error({ err }, 'could not read the revocation journal');
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
