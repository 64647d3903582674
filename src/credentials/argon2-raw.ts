import argon2 from 'argon2';
import sodium from 'sodium-native';

export interface Argon2Params {
  memoryKib: number;
  iterations: number;
  parallelism: number;
}

/**
 * Raw argon2id (version 1.3) of `password` under `salt`, on libuv's thread pool.
 *
 * libsodium computes it when it can: its SSSE3/AVX2 code takes about half the
 * time of the `argon2` package's portable build at the same parameters (see
 * docs/benchmarks/sasl.md), and a login's cost is this hash. libsodium only
 * does one lane and 16-byte salts, so anything else goes to the `argon2`
 * package; both compute the same function, and a test holds them equal.
 */
export async function argon2idRaw(password: string | Buffer, salt: Buffer, params: Argon2Params, length: number): Promise<Buffer> {
  if (argon2idBackend(salt, params, length) === 'libsodium') {
    const out = Buffer.alloc(length);
    await sodium.crypto_pwhash_async(
      out,
      typeof password === 'string' ? Buffer.from(password, 'utf8') : password,
      salt,
      params.iterations,
      params.memoryKib * 1024,
      sodium.crypto_pwhash_ALG_ARGON2ID13,
    );
    return out;
  }
  return argon2.hash(password, {
    type: argon2.argon2id,
    raw: true,
    salt,
    hashLength: length,
    memoryCost: params.memoryKib,
    timeCost: params.iterations,
    parallelism: params.parallelism,
  });
}

/** Which implementation argon2idRaw uses for these inputs (exported for tests and the benchmark). */
export function argon2idBackend(salt: Buffer, params: Argon2Params, length: number): 'libsodium' | 'argon2' {
  // libsodium's own floor for argon2id memory is 8 KiB, below any setting we accept.
  const fits = params.parallelism === 1 && salt.length === sodium.crypto_pwhash_SALTBYTES && length >= sodium.crypto_pwhash_BYTES_MIN;
  return fits ? 'libsodium' : 'argon2';
}
