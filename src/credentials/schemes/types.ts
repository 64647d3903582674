/**
 * A legacy password scheme, as Dovecot names them ({SHA512-CRYPT}, {BLF-CRYPT}, …).
 * Used only for the imported "generic" password of an address; device passwords
 * are argon2id digests under the address salt and never go through here.
 */
export interface LegacyScheme {
  /** Canonical Dovecot name, upper case: 'SHA512-CRYPT', 'BLF-CRYPT', 'PLAIN', … */
  readonly name: string;
  /** Other names accepted at import for the same scheme ('CLEAR' for 'PLAIN'). */
  readonly aliases: readonly string[];
  /** True for schemes too cheap to resist offline guessing (SSHA, PLAIN, …). */
  readonly weak: boolean;
  /**
   * Checks the stored form (the text after `{SCHEME}`) at import time.
   * Returns null when well formed, else a short reason. Never throws.
   */
  check(encoded: string): string | null;
  /**
   * True when `password` (the raw UTF-8 bytes the client sent) matches.
   * Resolves false, never rejects, for a mismatch. Must not block the event
   * loop for more than about a millisecond: CPU-heavy work runs on libuv's
   * pool (node:crypto async APIs, argon2) or in a worker thread.
   */
  verify(encoded: string, password: Buffer): Promise<boolean>;
}

/** A legacy hash as parsed at import: the scheme's canonical name and its stored form. */
export interface LegacyHash {
  readonly scheme: string;
  readonly encoded: string;
}
