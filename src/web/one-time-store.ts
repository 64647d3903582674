import { randomBytes } from 'node:crypto';

/**
 * Short-lived values handed out once under a random key (the profile
 * downloads, which carry a password): held in memory only, gone after the
 * first take or at expiry, and bounded in number so a flood cannot grow it.
 */
export class OneTimeStore<T> {
  readonly #entries = new Map<string, { value: T; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { ttlMs: number; max: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.max;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Stores the value and returns its key (256 random bits, base64url). */
  put(value: T): string {
    this.sweep();
    // the oldest goes first: it is the one most likely abandoned
    while (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    const key = randomBytes(32).toString('base64url');
    this.#entries.set(key, { value, expiresAt: this.#now() + this.#ttlMs });
    return key;
  }

  /** The value, once; undefined when unknown, taken or expired. */
  take(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    return entry.expiresAt > this.#now() ? entry.value : undefined;
  }

  sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
