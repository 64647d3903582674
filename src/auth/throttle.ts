import type { NetworkSet } from '../net/networks.js';

export interface ThrottleOptions {
  trusted: NetworkSet;
  /** First failure delay for an IP; doubles with each fresh failure up to failureDelayMaxMs. */
  failureDelayMs: number;
  failureDelayMaxMs: number;
  /** Fresh wrong passwords per address within lockoutWindowMs before fresh attempts are refused. */
  lockoutFailures: number;
  lockoutWindowMs: number;
  now?: () => number;
}

interface Penalty {
  failures: number;
  last: number;
}

/**
 * In-memory penalties in the manner of Dovecot's anvil: a client IP's failure
 * delay grows 2 s → 4 s → 8 s → 15 s with fresh failures and is forgotten once
 * it has been quiet for the lockout window; an address that collects too many
 * fresh wrong passwords refuses fresh (uncached) attempts for the rest of the
 * window. A stale device repeating the same old password is a cache hit, not
 * a fresh failure, so it never escalates. Trusted networks are exempt.
 */
export class Throttle {
  readonly #o: Required<ThrottleOptions>;
  readonly #byIp = new Map<string, Penalty>();
  readonly #byAddress = new Map<string, Penalty>();

  constructor(options: ThrottleOptions) {
    this.#o = { now: Date.now, ...options };
  }

  isTrusted(ip: string): boolean {
    return this.#o.trusted.has(ip);
  }

  /** How long a failing answer to this IP waits. */
  delayFor(ip: string): number {
    if (this.isTrusted(ip)) return 0;
    const penalty = this.#live(this.#byIp, ip);
    if (!penalty) return 0;
    return Math.min(this.#o.failureDelayMs * 2 ** (penalty.failures - 1), this.#o.failureDelayMaxMs);
  }

  /** True when fresh attempts on this address are refused for now. */
  addressLocked(address: string): boolean {
    const penalty = this.#live(this.#byAddress, address);
    return penalty !== undefined && penalty.failures >= this.#o.lockoutFailures;
  }

  /** A fresh wrong password (or unknown address): escalates the IP and the address. */
  freshFailure(ip: string, address: string | null): void {
    if (this.isTrusted(ip)) return;
    this.#bump(this.#byIp, ip);
    if (address !== null) this.#bump(this.#byAddress, address);
  }

  /** Drops penalties that have gone quiet; called from a timer. */
  sweep(): void {
    for (const map of [this.#byIp, this.#byAddress]) {
      for (const [key] of map) this.#live(map, key);
    }
  }

  stats(): { ips: number; addresses: number } {
    return { ips: this.#byIp.size, addresses: this.#byAddress.size };
  }

  #live(map: Map<string, Penalty>, key: string): Penalty | undefined {
    const penalty = map.get(key);
    if (penalty && this.#o.now() - penalty.last > this.#o.lockoutWindowMs) {
      map.delete(key);
      return undefined;
    }
    return penalty;
  }

  #bump(map: Map<string, Penalty>, key: string): void {
    const penalty = this.#live(map, key);
    if (penalty) {
      penalty.failures++;
      penalty.last = this.#o.now();
    } else {
      map.set(key, { failures: 1, last: this.#o.now() });
    }
  }
}
