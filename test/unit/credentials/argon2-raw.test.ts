import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { describe, expect, it } from 'vitest';
import { argon2idBackend, argon2idRaw, type Argon2Params } from '../../../src/credentials/argon2-raw.js';

/** The reference: the argon2 package, asked directly. */
function reference(password: string | Buffer, salt: Buffer, params: Argon2Params, length: number): Promise<Buffer> {
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

const small: Argon2Params = { memoryKib: 1024, iterations: 2, parallelism: 1 };

describe('argon2idRaw', () => {
  it('uses libsodium for one lane and a 16-byte salt, and matches the argon2 package bit for bit', async () => {
    for (const [password, params, length] of [
      ['correct horse battery staple', small, 32],
      ['pässwörd ✓ with spaces', { memoryKib: 19456, iterations: 2, parallelism: 1 }, 32],
      ['x', { memoryKib: 4096, iterations: 1, parallelism: 1 }, 16],
      ['', small, 64],
    ] as const) {
      const salt = randomBytes(16);
      expect(argon2idBackend(salt, params, length)).toBe('libsodium');
      const got = await argon2idRaw(password, salt, params, length);
      expect(got).toHaveLength(length);
      expect(got.equals(await reference(password, salt, params, length))).toBe(true);
    }
  });

  it('hashes a Buffer password as the same bytes as its UTF-8 string', async () => {
    const salt = randomBytes(16);
    const text = 'Grüße';
    const fromText = await argon2idRaw(text, salt, small, 32);
    const fromBytes = await argon2idRaw(Buffer.from(text, 'utf8'), salt, small, 32);
    expect(fromBytes.equals(fromText)).toBe(true);
  });

  it('falls back to the argon2 package for several lanes, other salt sizes and short outputs', async () => {
    const cases: Array<[Buffer, Argon2Params, number]> = [
      [randomBytes(16), { ...small, parallelism: 2 }, 32],
      [randomBytes(8), small, 32],
      [randomBytes(32), small, 32],
      [randomBytes(16), small, 8],
    ];
    for (const [salt, params, length] of cases) {
      expect(argon2idBackend(salt, params, length)).toBe('argon2');
      const got = await argon2idRaw('secret', salt, params, length);
      expect(got.equals(await reference('secret', salt, params, length))).toBe(true);
    }
  });

  it('differs when the password, the salt or the parameters differ', async () => {
    const salt = randomBytes(16);
    const base = await argon2idRaw('secret', salt, small, 32);
    expect(base.equals(await argon2idRaw('secreT', salt, small, 32))).toBe(false);
    expect(base.equals(await argon2idRaw('secret', randomBytes(16), small, 32))).toBe(false);
    expect(base.equals(await argon2idRaw('secret', salt, { ...small, iterations: 3 }, 32))).toBe(false);
  });
});
