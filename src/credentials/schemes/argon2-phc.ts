import { timingSafeEqual } from 'node:crypto';
import { verify as argon2Verify } from 'argon2';
import { argon2idRaw } from '../argon2-raw.js';
import { decodeBase64Strict } from './encoding.js';
import type { LegacyScheme } from './types.js';

/**
 * Shared parsing for {ARGON2I} and {ARGON2ID}: PHC strings
 * `$argon2id$v=19$m=65536,t=3,p=1$salt$hash` as written by libsodium (Dovecot)
 * and the reference CLI, or `m=…,p=…,t=…` as written by Node's argon2 package.
 * A missing v= means version 1.0 (0x10), as in the reference implementation.
 *
 * Verification runs on libuv's thread pool. Dovecot's own hashes (argon2id,
 * v=19, one lane) are recomputed with the fast backend of argon2-raw.ts;
 * anything else goes to argon2.verify, which reads the parameters by name, so
 * both orders work as stored. We parse first to bound the cost an imported
 * hash can impose on every later login.
 */

interface Parsed {
  version: number;
  memoryKib: number;
  iterations: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

// 1 GiB covers libsodium's "sensitive" preset; more would let one bad import
// take gigabytes per concurrent login.
const MAX_MEMORY_KIB = 1 << 20;
const MAX_TIME = 64;
const MAX_LANES = 16;

function parse(type: 'argon2i' | 'argon2id', encoded: string): Parsed | string {
  const prefix = `$${type}$`;
  if (!encoded.startsWith(prefix)) return `must start with ${prefix}`;
  const fields = encoded.slice(prefix.length).split('$');
  const version = fields[0]?.startsWith('v=') ? fields.shift() : undefined;
  if (fields.length !== 3) return 'expected [v=N$]m=…,t=…,p=…$salt$hash';
  const [paramText = '', saltText = '', hashText = ''] = fields;

  if (version !== undefined && version !== 'v=16' && version !== 'v=19') return 'version must be v=16 or v=19';

  const params = new Map<string, number>();
  for (const item of paramText.split(',')) {
    const m = /^([mtp])=([1-9][0-9]{0,9})$/.exec(item);
    if (!m || params.has(m[1] ?? '')) return 'parameters must be m, t and p, each once, as positive integers';
    params.set(m[1] ?? '', Number(m[2]));
  }
  const m = params.get('m');
  const t = params.get('t');
  const p = params.get('p');
  if (m === undefined || t === undefined || p === undefined) return 'parameters m, t and p are all required';
  if (p > MAX_LANES) return `p must be at most ${MAX_LANES}`;
  if (t > MAX_TIME) return `t must be at most ${MAX_TIME}`;
  if (m < 8 * p || m > MAX_MEMORY_KIB) return `m must be between 8×p and ${MAX_MEMORY_KIB} KiB`;

  // PHC strings use unpadded base64.
  if (saltText.includes('=') || hashText.includes('=')) return 'salt and hash must be unpadded base64';
  const salt = decodeBase64Strict(saltText);
  const hash = decodeBase64Strict(hashText);
  if (!salt || salt.length < 8 || salt.length > 64) return 'salt must be 8 to 64 bytes of base64';
  if (!hash || hash.length < 4 || hash.length > 128) return 'hash must be 4 to 128 bytes of base64';
  return { version: version === 'v=19' ? 0x13 : 0x10, memoryKib: m, iterations: t, parallelism: p, salt, hash };
}

export function makeArgon2Scheme(name: string, type: 'argon2i' | 'argon2id'): LegacyScheme {
  return {
    name,
    aliases: [],
    weak: false,
    check(encoded) {
      const parsed = parse(type, encoded);
      return typeof parsed === 'string' ? parsed : null;
    },
    async verify(encoded, password) {
      const parsed = parse(type, encoded);
      if (typeof parsed === 'string') return false;
      if (type === 'argon2id' && parsed.version === 0x13) {
        const computed = await argon2idRaw(password, parsed.salt, parsed, parsed.hash.length);
        return timingSafeEqual(computed, parsed.hash);
      }
      // argon2.verify compares with crypto.timingSafeEqual itself.
      return argon2Verify(encoded, password);
    },
  };
}
