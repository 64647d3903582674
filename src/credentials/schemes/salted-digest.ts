import { createHash } from 'node:crypto';
import { equalDigests } from './constant-time.js';
import { decodeBase64Strict } from './encoding.js';
import { parsedScheme } from './parsed-scheme.js';
import type { LegacyScheme } from './types.js';

/**
 * Shared code for {SSHA}, {SSHA256} and {SSHA512}: base64(digest(password ‖ salt) ‖ salt).
 * One unsalted-speed digest per guess, hence weak. Hashing a password once is
 * microseconds, so this runs inline.
 */

/**
 * Marks schemes whose stored form is base64 of raw bytes, so the registry can
 * turn Dovecot's `.HEX` variant (`{SSHA.HEX}…`) into that canonical form.
 */
export interface BinaryStoredScheme extends LegacyScheme {
  readonly storedAs: 'base64';
}

// Dovecot writes 4 salt bytes; other tools (OpenLDAP, slappasswd) 4 to 16.
// Anything up to 64 is accepted; none at all would be an unsalted digest.
const MAX_SALT_BYTES = 64;

export function makeSaltedDigestScheme(
  name: string,
  alg: 'sha1' | 'sha256' | 'sha512',
  digestBytes: number,
): BinaryStoredScheme {
  const split = (encoded: string): { digest: Buffer; salt: Buffer } | string => {
    const raw = decodeBase64Strict(encoded);
    if (!raw) return 'not valid base64';
    const saltBytes = raw.length - digestBytes;
    if (saltBytes < 1 || saltBytes > MAX_SALT_BYTES) {
      return `decoded length must be the ${digestBytes}-byte digest plus 1 to ${MAX_SALT_BYTES} bytes of salt`;
    }
    return { digest: raw.subarray(0, digestBytes), salt: raw.subarray(digestBytes) };
  };
  const scheme = parsedScheme({ name, weak: true }, split, async (parts, password) => {
    const computed = createHash(alg).update(password).update(parts.salt).digest();
    return equalDigests(computed, parts.digest);
  });
  return { ...scheme, storedAs: 'base64' };
}
