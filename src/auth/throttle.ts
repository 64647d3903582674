import { LRUCache } from 'lru-cache';
import type { NetworkSet } from '../net/networks.js';
import { clientNetwork, type NetworkPrefixes } from './client-network.js';
import type { Standing } from './hash-queue.js';

export interface ThrottleOptions extends NetworkPrefixes {
  trusted: NetworkSet;
  /** Hashes a client network may start per second, on average… */
  hashRate: number;
  /** …and at once after a quiet spell (the bucket's size). */
  hashBurst: number;
  /** First failure delay for a network; doubles with each fresh failure up to failureDelayMaxMs. */
  failureDelayMs: number;
  failureDelayMaxMs: number;
  /**
   * Fresh wrong passwords within lockoutWindowMs: from one network on one
   * address before that network's fresh attempts on the address are refused
   * (temporarily); from all networks on one address before every failure on
   * it waits failureDelayMaxMs.
   */
  lockoutFailures: number;
  lockoutWindowMs: number;
  /** Caps on the state kept: the least recently touched entries go first. */
  maxNetworks: number;
  maxAddresses: number;
  maxNetworksPerAddress: number;
  now?: () => number;
}

interface NetworkState {
  /** Token bucket of hashes: `tokens` as of `at`. */
  tokens: number;
  at: number;
  failures: number;
  lastFailure: number;
  /** Last successful login from the network (0: none remembered). */
  lastSuccess: number;
}

interface Count {
  failures: number;
  last: number;
}

interface AddressState {
  total: Count;
  /** Fresh failures on the address by client network, least recent first. */
  byNetwork: Map<string, Count>;
}

/** Why a fresh (hashing) attempt is refused before any work. */
export type Refusal = 'network-rate' | 'address-network';

/**
 * In-memory protection against guessing, all of it keyed by client network
 * (an IPv4 address, an IPv6 /64: one attacker's reach) and none of it by
 * whether an address exists (unknown addresses are counted like known ones).
 *
 * - A token bucket per network bounds the hashes it can make us compute.
 * - A network's failure delay grows 2 s → 4 s → 8 s → 15 s with its fresh
 *   failures, and is forgotten after a quiet window.
 * - Per address, a network that made lockoutFailures fresh wrong guesses is
 *   refused for the rest of the window; other networks are not, so the owner
 *   logging in from home is not locked out by an attack from elsewhere. An
 *   address with lockoutFailures fresh failures in all makes every failure
 *   on it wait the longest delay, which slows a spread-out attack.
 *
 * A success never waits and never spends more than its one token; a proven
 * (cached) password never comes here. Trusted networks are exempt.
 */
export class Throttle {
  #o: Required<ThrottleOptions>;
  readonly #networks: LRUCache<string, NetworkState>;
  readonly #addresses: LRUCache<string, AddressState>;

  constructor(options: ThrottleOptions) {
    this.#o = { now: Date.now, ...options };
    // entries go after a quiet window: by then a bucket is full again and every count forgotten
    const common = { ttl: this.#o.lockoutWindowMs, ttlResolution: 0, perf: { now: () => this.#o.now() } } as const;
    this.#networks = new LRUCache<string, NetworkState>({ max: this.#o.maxNetworks, ...common });
    this.#addresses = new LRUCache<string, AddressState>({ max: this.#o.maxAddresses, ...common });
  }

  /** A reload: new numbers apply from the next attempt; what each network and address has collected so far stays. */
  reconfigure(options: Omit<ThrottleOptions, 'trusted' | 'now'>): void {
    this.#o = { ...this.#o, ...options };
  }

  isTrusted(ip: string): boolean {
    return this.#o.trusted.has(ip);
  }

  network(ip: string): string {
    return clientNetwork(ip, this.#o);
  }

  /**
   * Before a fresh attempt costs anything: refuses it when the network is
   * out of hash tokens or has guessed too often at this address, otherwise
   * takes one token.
   */
  admit(ip: string, address: string): Refusal | null {
    const network = this.network(ip);
    if (this.#lockedFor(address, network)) return 'address-network';
    const state = this.#network(network);
    this.#refill(state);
    if (state.tokens < 1) return 'network-rate';
    state.tokens -= 1;
    return null;
  }

  /**
   * Which lane of the hash queue the network's hashes wait in: "proven" when
   * it logged in lately (and has not failed since), "suspect" when it has
   * fresh failures, "new" otherwise.
   */
  standing(ip: string): Standing {
    const state = this.#networks.get(this.network(ip));
    if (!state) return 'new';
    if (state.lastSuccess > 0 && this.#fresh(state.lastSuccess) && state.lastSuccess >= state.lastFailure) return 'proven';
    if (state.failures > 0 && this.#fresh(state.lastFailure)) return 'suspect';
    return 'new';
  }

  /** A login from the network succeeded (from the cache or not). */
  succeeded(ip: string): void {
    const network = this.network(ip);
    const state = this.#networks.get(network);
    if (state) state.lastSuccess = this.#o.now();
    else this.#networks.set(network, { tokens: this.#o.hashBurst, at: this.#o.now(), failures: 0, lastFailure: 0, lastSuccess: this.#o.now() });
  }

  /** How long a failing answer to this network about this address waits. */
  delayFor(ip: string, address: string | null): number {
    const network = this.network(ip);
    const state = this.#networks.get(network);
    let delay = 0;
    if (state && state.failures > 0 && this.#fresh(state.lastFailure)) {
      delay = Math.min(this.#o.failureDelayMs * 2 ** (state.failures - 1), this.#o.failureDelayMaxMs);
    }
    const target = address === null ? undefined : this.#addresses.get(address);
    if (target && this.#fresh(target.total.last) && target.total.failures >= this.#o.lockoutFailures) {
      delay = this.#o.failureDelayMaxMs;
    }
    return delay;
  }

  /** A fresh wrong password, known address or not: escalates the network and the address. */
  freshFailure(ip: string, address: string): void {
    const network = this.network(ip);
    const now = this.#o.now();
    const state = this.#network(network);
    state.failures = this.#fresh(state.lastFailure) ? state.failures + 1 : 1;
    state.lastFailure = now;
    this.#networks.set(network, state);

    let target = this.#addresses.get(address);
    if (!target) target = { total: { failures: 0, last: now }, byNetwork: new Map() };
    bump(target.total, now, this.#o.lockoutWindowMs);
    const previous = target.byNetwork.get(network);
    target.byNetwork.delete(network); // re-inserted last: the map's order is recency
    const count = previous ?? { failures: 0, last: now };
    bump(count, now, this.#o.lockoutWindowMs);
    target.byNetwork.set(network, count);
    if (target.byNetwork.size > this.#o.maxNetworksPerAddress) {
      target.byNetwork.delete(target.byNetwork.keys().next().value as string);
    }
    this.#addresses.set(address, target);
  }

  /** Drops state that has gone quiet; called from a timer. */
  sweep(): void {
    this.#networks.purgeStale();
    this.#addresses.purgeStale();
  }

  stats(): { networks: number; addresses: number } {
    return { networks: this.#networks.size, addresses: this.#addresses.size };
  }

  #lockedFor(address: string, network: string): boolean {
    const count = this.#addresses.get(address)?.byNetwork.get(network);
    return count !== undefined && this.#fresh(count.last) && count.failures >= this.#o.lockoutFailures;
  }

  #network(network: string): NetworkState {
    let state = this.#networks.get(network);
    if (!state) {
      state = { tokens: this.#o.hashBurst, at: this.#o.now(), failures: 0, lastFailure: 0, lastSuccess: 0 };
      this.#networks.set(network, state);
    }
    return state;
  }

  #refill(state: NetworkState): void {
    const now = this.#o.now();
    state.tokens = Math.min(this.#o.hashBurst, state.tokens + ((now - state.at) / 1000) * this.#o.hashRate);
    state.at = now;
  }

  #fresh(at: number): boolean {
    return this.#o.now() - at <= this.#o.lockoutWindowMs;
  }
}

function bump(count: Count, now: number, windowMs: number): void {
  count.failures = now - count.last <= windowMs ? count.failures + 1 : 1;
  count.last = now;
}
