import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * "This password was proven against credential N": the credential's current
 * row decides the outcome on every hit (active, revoked, reset-away, expired,
 * out of scope), so the cache never has to be told about revocations.
 * `generation` is the address's generation when the proof was made: a
 * non-active credential's verdict only stands while nothing else changed on
 * the address (the same password may since belong to a new device).
 */
export interface Proof {
  credentialId: number;
  generation: number;
}

/** "This password matched nothing on the address" at that generation; addressId null = unknown address. */
export interface Miss {
  addressId: number | null;
  generation: number;
}

export interface ProofCacheOptions {
  size: number;
  ttlMs: number;
}

/**
 * Keys are HMAC-SHA256 under a key made at start that never leaves the
 * process: a dump of the cache helps no one guess a password. Proofs and
 * misses live in separate LRUs so a flood of wrong passwords cannot evict
 * the proofs of the clients that log in correctly.
 */
export class ProofCache {
  readonly #key = randomBytes(32);
  readonly #proofs: LRUCache<string, Proof> | null;
  readonly #misses: LRUCache<string, Miss> | null;
  #hits = 0;
  #lookups = 0;

  constructor(options: ProofCacheOptions) {
    const enabled = options.size > 0 && options.ttlMs > 0;
    // a proof's TTL starts again at each use: a device that keeps logging in keeps its proof
    this.#proofs = enabled ? new LRUCache({ max: options.size, ttl: options.ttlMs, updateAgeOnGet: true }) : null;
    this.#misses = enabled ? new LRUCache({ max: options.size, ttl: options.ttlMs }) : null;
  }

  key(address: string, password: string): string {
    return createHmac('sha256', this.#key).update(address).update('\0').update(password).digest('base64');
  }

  proof(key: string): Proof | undefined {
    return this.#count(this.#proofs?.get(key));
  }

  miss(key: string): Miss | undefined {
    return this.#count(this.#misses?.get(key));
  }

  /** A fresh verdict replaces whatever the key held. */
  rememberProof(key: string, proof: Proof): void {
    this.#misses?.delete(key);
    this.#proofs?.set(key, proof);
  }

  rememberMiss(key: string, miss: Miss): void {
    this.#proofs?.delete(key);
    this.#misses?.set(key, miss);
  }

  forget(key: string): void {
    this.#proofs?.delete(key);
    this.#misses?.delete(key);
  }

  stats(): { proofs: number; misses: number; lookups: number; hits: number } {
    return { proofs: this.#proofs?.size ?? 0, misses: this.#misses?.size ?? 0, lookups: this.#lookups, hits: this.#hits };
  }

  #count<T>(value: T | undefined): T | undefined {
    this.#lookups++;
    if (value !== undefined) this.#hits++;
    return value;
  }
}
