import { createRequire } from 'node:module';
import { equalDigests } from './constant-time.js';
import { parsedScheme } from './parsed-scheme.js';
import type { LegacyScheme } from './types.js';

/**
 * {BLF-CRYPT}: bcrypt, `$2a$`, `$2b$` or `$2y$` + cost + 22-char salt +
 * 31-char digest.
 *
 * Uses the native `bcrypt` package: its async hash runs on libuv's thread
 * pool, so the event loop stays free without a worker of our own, and it is
 * several times faster than a pure-JS bcrypt at the costs people use.
 * bcrypt has no bundled types; the one function we call is typed here.
 */
const require = createRequire(import.meta.url);
const bcrypt = require('bcrypt') as { hash(data: Buffer, salt: string): Promise<string> };

// Below 4 the native code refuses; above 16 (~4 s a login natively) is no
// real configuration, just a way for one import to pin the thread pool.
const MIN_COST = 4;
const MAX_COST = 16;
// bcrypt only ever reads this many password bytes.
const MAX_KEY_BYTES = 72;

const FORMAT = /^\$2([aby])\$([0-9]{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

function parse(encoded: string): { minor: string; cost: number; salt: string; digest: string } | string {
  const m = FORMAT.exec(encoded);
  if (!m) return 'expected $2a$, $2b$ or $2y$, a two-digit cost, a 22-character salt and a 31-character digest';
  const [, minor = '', costText = '', salt = '', digest = ''] = m;
  const cost = Number(costText);
  if (cost < MIN_COST || cost > MAX_COST) return `cost must be between ${MIN_COST} and ${MAX_COST}`;
  return { minor, cost, salt, digest };
}

export const blfCrypt: LegacyScheme = parsedScheme({ name: 'BLF-CRYPT', weak: false }, parse, async (parsed, password) => {
  // $2y$ (PHP, crypt_blowfish, what doveadm writes) is the same algorithm as
  // $2b$, which the native module knows. $2a$ stays: the module then keeps
  // OpenBSD's old 8-bit length wrap for passwords over 254 bytes; cutting
  // at 72 bytes first (all bcrypt reads anyway) makes every variant agree
  // with crypt_blowfish, which Dovecot and libxcrypt use.
  const minor = parsed.minor === 'y' ? 'b' : parsed.minor;
  const cost = String(parsed.cost).padStart(2, '0');
  const key = password.subarray(0, MAX_KEY_BYTES);
  const computed = await bcrypt.hash(key, `$2${minor}$${cost}$${parsed.salt}`);
  // Compare only the digest: the prefix may differ ($2y$ vs $2b$), and the
  // salt is an input, not something to match.
  return equalDigests(Buffer.from(computed.slice(-31), 'latin1'), Buffer.from(parsed.digest, 'latin1'));
});
