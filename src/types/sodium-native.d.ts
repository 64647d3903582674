// The package ships no types; this declares only the part devicepass calls.
declare module 'sodium-native' {
  interface Sodium {
    readonly crypto_pwhash_ALG_ARGON2ID13: number;
    readonly crypto_pwhash_SALTBYTES: number;
    readonly crypto_pwhash_BYTES_MIN: number;
    /** Runs on libuv's thread pool; resolves once `out` holds the hash. */
    crypto_pwhash_async(
      out: Uint8Array,
      passwd: Uint8Array,
      salt: Uint8Array,
      opslimit: number,
      memlimit: number,
      alg: number,
    ): Promise<void>;
  }
  const sodium: Sodium;
  export default sodium;
}
